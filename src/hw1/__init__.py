"""MLDS 2018 HW1 as a reproducible study: data, models, training engine, analyses, figures."""

__version__ = "0.1.0"
