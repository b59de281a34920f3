"""Job-level glue: load a variant's data, train it, write its result files.

Workflow scripts call these functions with paths from the ``snakemake`` object; tests call
them directly.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from hw1 import data as hdata
from hw1 import datasets
from hw1.engine import Data, RunResult, resolve_device, train
from hw1.runs import write_run_files
from hw1.runtime import configure
from hw1.trainspec import TrainSpec

log = logging.getLogger("hw1.jobs.train")


def load_data(
    spec: TrainSpec, inputs: Mapping[str, str], data_cfg: Mapping[str, Any], device: torch.device
) -> Data:
    """Device-resident tensors for ``spec.dataset`` from the rule's input files: ``data``
    (the prepared image set, :mod:`hw1.datasets`) with ``random_labels`` when the spec asks
    for them, or ``function`` (a 1-D function's grid)."""
    if datasets.is_dataset(spec.dataset):
        rl = inputs.get("random_labels") if spec.labels == "random" else None
        if spec.labels == "random" and rl is None:
            raise ValueError("labels: random needs the random-label file as input 'random_labels'")
        n = data_cfg.get("train_size")
        if spec.train_examples is not None:
            n = min(spec.train_examples, n or spec.train_examples)
        t = hdata.image_tensors(
            inputs["data"],
            train_size=n,
            test_size=data_cfg.get("test_size"),
            random_labels=rl,
            device=device,
        )
    else:
        t = hdata.function_tensors(inputs["function"], device=device)
        if spec.train_examples is not None:
            t = (t[0][: spec.train_examples], t[1][: spec.train_examples], t[2], t[3])
    return Data(*t)


def write_run(
    result: RunResult,
    metrics_path: str | os.PathLike,
    steps_path: str | os.PathLike,
    weights_path: str | os.PathLike,
) -> None:
    """Write the three run files of one training job (:mod:`hw1.runs`; schemas in the
    README); their metadata holds the spec as run (``result.spec``)."""
    write_run_files(
        result.spec.to_dict(),
        result.n_params,
        result.layout.to_json(),
        result.metrics,
        result.steps,
        result.snapshots,
        {"metrics": metrics_path, "steps": steps_path, "weights": weights_path},
    )


def run_training_job(
    spec_dict: Mapping[str, Any],
    inputs: Mapping[str, str],
    outputs: Mapping[str, str],
    *,
    data_cfg: Mapping[str, Any],
    device: str,
    threads: int,
    checkpoint: str | os.PathLike | None = None,
    graphs: bool = True,
) -> RunResult:
    """One Snakemake training job: all seeds of one variant, stacked (``graphs``: CUDA graph
    capture of the step and evaluation on a CUDA device)."""
    configure(threads)
    spec = TrainSpec.from_dict(spec_dict)
    dev = resolve_device(device)
    log.info(
        "training %s/%s on %s%s with %d threads, seeds %s",
        spec.experiment,
        spec.variant,
        dev,
        " (CUDA graphs)" if graphs and dev.type == "cuda" else "",
        torch.get_num_threads(),
        list(spec.seeds),
    )
    data = load_data(spec, inputs, data_cfg, dev)
    result = train(spec, data, checkpoint=checkpoint, graphs=graphs)
    write_run(result, outputs["metrics"], outputs["steps"], outputs["weights"])
    if checkpoint is not None and Path(checkpoint).exists():
        Path(checkpoint).unlink()
    log.info("done in %.1fs (%d parameters per seed)", result.seconds, result.n_params)
    if dev.type == "cuda":
        log.info(
            "peak GPU memory: %.0f MB allocated, %.0f MB reserved by torch (plus the context)",
            torch.cuda.max_memory_allocated(dev) / 2**20,
            torch.cuda.max_memory_reserved(dev) / 2**20,
        )
    return result
