"""One analysis job, by name: the registry entry (:data:`hw1.catalogue.ANALYSES`) says which
function computes it; this runs it with the job's threads and writes its Parquet file."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from hw1.catalogue import analysis
from hw1.io import read_metadata, read_parquet, write_parquet
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
    settings the figure states (the table's ``attrs``) in the file's metadata. Where
    ``inputs`` holds ``parts`` (an analysis split per experiment), the parts are joined
    instead (:func:`gather_parts`). Freed memory stays in the process for reuse: the
    analyses' full-set gradients allocate the same large tensors again and again."""
    configure(threads, keep_freed_memory=True)
    if "parts" in inputs:
        df = gather_parts(name, inputs["parts"])
    else:
        df = analysis(name).job_fn()({k: list(v) for k, v in inputs.items()}, params)
    write_parquet(df, output, metadata={"analysis": name, **df.attrs})
    return df


def gather_parts(name: str, paths: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """The per-experiment part files of analysis ``name`` joined by its ``gather`` function,
    with the settings they state; parts computed with different settings are an error, not
    one table."""
    if not paths:
        raise ValueError(
            f"analysis {name!r}: no part files to join; its config key runs_from names the "
            "experiments whose parts it joins"
        )
    metas = [read_metadata(p) for p in paths]
    for p, m in zip(paths, metas, strict=True):
        if m != metas[0]:
            raise ValueError(
                f"{p}: its settings {m} differ from those of {paths[0]} ({metas[0]}); "
                f"delete the part files of analysis {name!r} and rerun"
            )
    df = analysis(name).gather_fn()([read_parquet(p) for p in paths])
    df.attrs = {k: v for k, v in metas[0].items() if k != "analysis"}
    return df
