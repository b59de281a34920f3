"""One analysis job, by name: the registry entry (:data:`hw1.catalogue.ANALYSES`) says which
function computes it; this runs it with the job's threads and writes its Parquet file."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from hw1.catalogue import analysis
from hw1.io import write_parquet
from hw1.runtime import configure


def analysis_job(
    name: str,
    inputs: Mapping[str, Sequence[str]],
    output: str | os.PathLike,
    params: Mapping[str, Any],
    threads: int,
) -> pd.DataFrame:
    """Analysis ``name`` of the files ``inputs`` (kind -> paths) with ``params`` (its config
    settings, data_cfg, device), on ``threads`` torch threads, written to ``output`` with the
    settings the figure states (the table's ``attrs``) in the file's metadata."""
    configure(threads)
    df = analysis(name).job_fn()({k: list(v) for k, v in inputs.items()}, params)
    write_parquet(df, output, metadata={"analysis": name, **df.attrs})
    return df
