"""Analyses that read trained runs: PCA, Hessian, flatness, landscapes."""
