"""The config, validated once before any job starts, and expanded into training jobs.

The config is data: each experiment holds a base training spec (``train``) and named
variants whose keys override it; :func:`expand_variants` turns that into one complete, flat
training spec per (experiment, variant). One module per job:

- :mod:`hw1.config.load`: duplicate-free YAML, typed ``--config`` values, merging, the schema
  check (defaults filled in from the schema, :mod:`hw1.schema`);
- :mod:`hw1.config.variants`: experiments into variants, set sizes;
- :mod:`hw1.config.checks`: :func:`validate`, the checks across keys, and those of each part
  (:mod:`~hw1.config.deep_vs_shallow`, :mod:`~hw1.config.optimization`,
  :mod:`~hw1.config.generalization`);
- :mod:`hw1.config.docs`: the README's key table (``python -m hw1.config``).

This package exports what the workflow uses; every message names the key.
"""

from hw1.config.checks import validate
from hw1.config.load import ConfigError, check_duplicate_keys, deep_merge, typed_overrides
from hw1.config.variants import by_dataset, expand_variants, runs_from, set_sizes

__all__ = [
    "ConfigError",
    "by_dataset",
    "check_duplicate_keys",
    "deep_merge",
    "expand_variants",
    "runs_from",
    "set_sizes",
    "typed_overrides",
    "validate",
]
