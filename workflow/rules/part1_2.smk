# Part 1-2, optimisation: PCA of weight trajectories, gradient norm per iteration, minimal
# ratio at near-critical points, and (bonus) the error surface. Each experiment's rules
# exist only when the experiment is configured.

from types import SimpleNamespace


# The one variant of the analysed experiments (their schemas allow exactly one);
# error_surface analyses the runs of another experiment (runs_from).
P12_RUNS = {"minimal_ratio": "minimal_ratio"}
if "error_surface" in EXPERIMENTS:
    P12_RUNS["error_surface"] = EXPERIMENTS["error_surface"]["runs_from"]
P12_VARIANT = {
    e: next(iter(VARIANTS[src])) for e, src in P12_RUNS.items() if e in EXPERIMENTS
}

if "pca_trajectories" in EXPERIMENTS:

    rule table_pca_trajectories:
        input:
            weights=run_files("pca_trajectories", "weights"),
            metrics=run_files("pca_trajectories"),
        output:
            "results/tables/pca_trajectories.parquet",
        params:
            name="pca_trajectories",
        log:
            "logs/tables/pca_trajectories.log",
        conda:
            ENV
        script:
            "../scripts/table.py"


if "grad_norm" in EXPERIMENTS:

    rule table_grad_norm:
        input:
            steps=run_files("grad_norm", "steps"),
        output:
            "results/tables/grad_norm.parquet",
        params:
            name="grad_norm",
        log:
            "logs/tables/grad_norm.log",
        conda:
            ENV
        script:
            "../scripts/table.py"


if "minimal_ratio" in EXPERIMENTS:

    rule analysis_minimal_ratio:
        input:
            weights=run_files("minimal_ratio", "weights")[0],
            function="results/data/fn_{}.parquet".format(
                VARIANTS["minimal_ratio"][P12_VARIANT["minimal_ratio"]]["dataset"]
            ),
        output:
            "results/analysis/minimal_ratio.parquet",
        params:
            phase2=config["experiments"]["minimal_ratio"]["phase2"],
            tol=config["experiments"]["minimal_ratio"]["eigenvalue_tol"],
            rtol=config["experiments"]["minimal_ratio"]["eigenvalue_rtol"],
            max_params=config["experiments"]["minimal_ratio"]["max_params"],
            device=DEVICE,
        log:
            "logs/analysis/minimal_ratio.log",
        benchmark:
            "benchmarks/analysis/minimal_ratio.tsv"
        threads: config["threads"]
        resources:
            runtime=120,
            gpu=1 if DEVICE == "cuda" else 0,
            gpu_mem_mb=ANALYSIS_GPU_MEM_MB,
        conda:
            ENV
        script:
            "../scripts/p12_minimal_ratio.py"

    rule table_minimal_ratio:
        input:
            analysis="results/analysis/minimal_ratio.parquet",
        output:
            "results/tables/minimal_ratio.parquet",
        params:
            name="minimal_ratio",
        log:
            "logs/tables/minimal_ratio.log",
        conda:
            ENV
        script:
            "../scripts/table.py"


if "error_surface" in EXPERIMENTS:
    # the data files the error_surface runs were trained on (MNIST cache, labels)
    P12_SURFACE_DATA = train_inputs(
        SimpleNamespace(
            experiment=P12_RUNS["error_surface"], variant=P12_VARIANT["error_surface"]
        )
    )

    rule analysis_error_surface:
        input:
            unpack(lambda wildcards: P12_SURFACE_DATA),
            weights=expand(
                "results/runs/{experiment}/{variant}/weights.parquet",
                experiment=P12_RUNS["error_surface"],
                variant=P12_VARIANT["error_surface"],
            ),
        output:
            "results/analysis/error_surface.parquet",
        params:
            data_cfg=config["data"],
            surface=config["experiments"]["error_surface"]["surface"],
            device=DEVICE,
        log:
            "logs/analysis/error_surface.log",
        benchmark:
            "benchmarks/analysis/error_surface.tsv"
        threads: config["threads"]
        resources:
            mem_mb=4000,
            runtime=60,
            gpu=1 if DEVICE == "cuda" else 0,
            gpu_mem_mb=ANALYSIS_GPU_MEM_MB,
        conda:
            ENV
        script:
            "../scripts/p12_error_surface.py"

    rule table_error_surface:
        input:
            analysis="results/analysis/error_surface.parquet",
        output:
            "results/tables/error_surface.parquet",
        params:
            name="error_surface",
        log:
            "logs/tables/error_surface.log",
        conda:
            ENV
        script:
            "../scripts/table.py"
