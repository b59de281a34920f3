"""Parquet and tensor-file I/O with atomic writes and documented schemas.

Every result file is written to a temporary name beside its target and renamed into place,
so a reader (or Snakemake after a crash) never sees half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

META_KEY = b"hw1"


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp makes the file private (0600); give it the usual umask-based mode
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_parquet(
    df: pd.DataFrame, path: str | os.PathLike, metadata: Mapping[str, Any] | None = None
) -> None:
    """Write ``df`` atomically; ``metadata`` (JSON-serialisable) goes into the file's schema."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    if metadata is not None:
        meta = dict(table.schema.metadata or {})
        meta[META_KEY] = json.dumps(metadata, sort_keys=True).encode()
        table = table.replace_schema_metadata(meta)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def read_parquet(path: str | os.PathLike, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a Parquet file, naming the file when it is missing or not Parquet."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(
            f"{p} does not exist; rebuild it with snakemake (it is a rule output)"
        )
    try:
        return pq.read_table(p, columns=columns).to_pandas()
    except (pa.ArrowInvalid, OSError) as exc:
        raise ValueError(
            f"{p} is not a readable Parquet file ({exc}); delete it and rerun"
        ) from exc


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The ``hw1`` metadata dict stored by :func:`write_parquet` (empty if none)."""
    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(META_KEY)
    return json.loads(raw) if raw else {}
