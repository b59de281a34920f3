"""The training spec: everything that determines one training job, as one frozen value.

Torch-free, so that the workflow, the analysis jobs and the tests build and read specs
without the engine; :mod:`hw1.engine` trains one.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass
from typing import Any

from hw1 import datasets
from hw1.schema import TRAIN_DEFAULTS


@dataclass(frozen=True)
class TrainSpec:
    """Everything that determines one training job (one experiment variant, all its seeds):
    the complete spec :func:`hw1.config.expand_variants` makes of a variant."""

    experiment: str
    variant: str
    dataset: str
    model: Mapping[str, Any]
    optimizer: str
    lr: float
    momentum: float
    weight_decay: float
    lr_schedule: Mapping[str, Any]
    batch_size: int
    epochs: int
    seeds: tuple[int, ...]
    labels: str
    snapshot_epochs: tuple[int, ...]
    record_steps: bool
    on_divergence: str
    checkpoint_every: int
    eval_batch_size: int
    # optional keys (the schema gives them no value; absent means "chosen for the job")
    threads: int = 0  # torch threads of the job (0: from the model, hw1.resources.job_threads)
    train_examples: int | None = None  # first N training examples of the data set (None: all)
    # train until the full training loss stops improving, ``epochs`` the limit (None: exactly
    # ``epochs``); {"patience": k, "rel_tol": r, "abs_tol": a}, see hw1.engine.stalled
    stop: Mapping[str, Any] | None = None

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> TrainSpec:
        """A spec from a mapping; keys it lacks take the schema's training defaults
        (:data:`hw1.schema.TRAIN_DEFAULTS`, the one place they are written)."""
        known = set(TrainSpec.__dataclass_fields__)
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown training keys {sorted(unknown)}; allowed: {sorted(known)}")
        kw = {**copy.deepcopy(TRAIN_DEFAULTS), **d}
        missing = [
            k
            for k, f in TrainSpec.__dataclass_fields__.items()
            if k not in kw and f.default is MISSING
        ]
        if missing:
            raise ValueError(f"training spec lacks {missing} (the schema gives them no default)")
        kw["seeds"] = tuple(int(s) for s in kw["seeds"])
        kw["snapshot_epochs"] = tuple(int(e) for e in kw["snapshot_epochs"])
        return TrainSpec(**kw)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["seeds"], d["snapshot_epochs"] = list(self.seeds), list(self.snapshot_epochs)
        d["model"], d["lr_schedule"] = dict(self.model), dict(self.lr_schedule)
        d["stop"] = None if self.stop is None else dict(self.stop)
        return d

    @property
    def task(self) -> str:
        return "classification" if datasets.is_dataset(self.dataset) else "regression"
