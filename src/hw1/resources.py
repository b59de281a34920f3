"""What a job needs: a training job's threads, cost estimate (the scheduling priority) and GPU
memory, and the expected seconds of the analyses of trained runs.

Computed from the network's architecture (:mod:`hw1.architectures`) and the job's training
spec, without torch: the Snakefile reads these at parse time to set each job's threads,
priority and ``gpu_mem_mb`` resource, and the run's progress estimate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from hw1.architectures import (
    ModelSpec,
    eval_flops_per_example,
    layers,
    param_count,
    spec_of,
    train_flops_per_example,
)

# Threads of a training job. Measured on this project's 2-core VM (one step, all seeds, 1 vs
# 2 threads): the function and minimal-ratio nets gain nothing from a second thread; 784-input
# MLPs with steps of 0.1-0.6 GFLOP gain 1.0-1.6x (8 x 784-32-32: 1.01x, 3 x 784-64: 0.97x,
# 784-256-256 at batch 64: 1.22x); steps of >= 1 GFLOP 1.25-1.6x; the CNNs 1.66-1.73x. Two
# one-thread jobs side by side do twice the work of one, so a second thread pays only where
# it comes close to that: CNNs, and dense steps of at least 1 GFLOP.
LARGE_STEP_FLOPS = 1_000_000_000


def seed_count(train: Mapping) -> int:
    """How many seeds a training spec trains (``seeds``: a count or a list)."""
    return len(train["seeds"]) if isinstance(train["seeds"], list) else int(train["seeds"])


def job_threads(train: Mapping, max_threads: int) -> int:
    """Threads of one training job, from its network and the work of one step: ``max_threads``
    for conv nets and for dense steps of at least :data:`LARGE_STEP_FLOPS`, else 1 (so that
    two such jobs run side by side on two cores). ``train['threads']`` (a config key of the
    training spec) overrides the choice."""
    if train.get("threads"):
        return int(train["threads"])
    ms = spec_of(train)
    if ms.type == "cnn":
        return int(max_threads)
    step = train_flops_per_example(ms) * int(train["batch_size"])
    step *= seed_count(train)
    return 1 if step < LARGE_STEP_FLOPS else int(max_threads)


# Conv nets run far below the GEMM rate here: the cnn_depth jobs of the full run of
# 2026-12-01 took 141, 161 and 208 s (cnn1, cnn2, cnn4, 2 threads, 60,000 images) against FLOP
# estimates of 15, 48 and 103 s, and their time tracks the activations they move rather
# than their FLOPs: ~1.2 ns per activation element per example pass (least squares through
# the origin over the three jobs; a training example is ~3 passes, an evaluation one).
CONV_SECONDS_PER_ACTIVATION = 1.2e-9


# Forward-pass equivalents per example of a network's passes: a gradient (forward +
# backward) 3; a Hessian-vector product by double backpropagation 4 (1.14-1.70x a gradient
# for cnn1, cnn4 and 784-256-256 / 784-1024-1024 MLPs at 5,000 images, 1 thread:
# benchmarks/cpu-results/2026-12-04-analysis-cost); an input-gradient backward (a row of
# the sensitivity Jacobian) 1.
GRADIENT_PASSES = 3
HVP_PASSES = 4


def job_cost(train: Mapping, n_train: int, n_test: int) -> float:
    """Rough cost (seconds on 2 CPU cores) of one training job: for dense nets its FLOPs
    (training steps plus the full-set evaluation after every epoch) at ~100 GFLOP/s, for
    conv nets the activations their passes move (:data:`CONV_SECONDS_PER_ACTIVATION`); plus
    ~0.5 ms of overhead per step. Only an ordering key: the workflow starts the longest jobs
    first (longest-processing-time scheduling keeps both cores busy to the end)."""
    n = min(n_train, int(train.get("train_examples") or n_train))
    steps = n // int(train["batch_size"])
    passes = GRADIENT_PASSES * steps * int(train["batch_size"]) + n + n_test
    per_epoch = seed_count(train) * pass_seconds(spec_of(train), passes)
    return int(train["epochs"]) * (per_epoch + steps * 5e-4)


def pass_seconds(ms: ModelSpec, example_passes: float) -> float:
    """Rough seconds (2 CPU cores) of ``example_passes`` forward-pass equivalents of one
    network (a forward pass of one example is 1; its forward + backward 3): its FLOPs at
    ~100 GFLOP/s for dense nets, the activations it moves for conv nets
    (:data:`CONV_SECONDS_PER_ACTIVATION`), as :func:`job_cost` counts them."""
    if ms.type == "cnn":
        return _activations_per_example(ms) * example_passes * CONV_SECONDS_PER_ACTIVATION
    return eval_flops_per_example(ms) * example_passes / 1e11


# Hessian-vector products expected of the Lanczos iteration, which stops at its tolerance
# well before its budget (50-100 in config.yaml): of 10, 20, 30 and the budget itself, 20
# put the estimates of the measures jobs of the 51:14 run nearest their seconds (0.5-1.25x
# each; the budget: 0.2-0.8x).
LANCZOS_PRODUCTS = 20


def measures_passes(
    n_out: int,
    n_train: int,
    n_test: int,
    sensitivity: Mapping | None,
    sharpness: Mapping | None,
) -> float:
    """Forward-pass equivalents (summed over examples) of :func:`hw1.jobs.generalization.
    flatness_measures` of one model: the sensitivity Jacobian (a forward and ``n_out``
    input-gradient passes per test example), the ε-sharpness ascent (a loss at the start and
    end, a gradient per step) and the Hessian-vector products of the top eigenvalue after one
    differentiable gradient (:data:`LANCZOS_PRODUCTS`, at most ``hessian_iters``), over the
    first ``train_examples`` training examples."""
    passes = 0.0
    if sensitivity is not None:
        n_sens = min(int(sensitivity.get("test_examples") or n_test), n_test)
        passes += n_sens * (1 + n_out)
    if sharpness is not None:
        n_sharp = min(int(sharpness.get("train_examples") or n_train), n_train)
        ascent = 2 + GRADIENT_PASSES * int(sharpness["steps"])
        products = min(int(sharpness["hessian_iters"]), LANCZOS_PRODUCTS)
        lanczos = GRADIENT_PASSES + HVP_PASSES * products
        passes += n_sharp * (ascent + lanczos)
    return passes


def keskar_passes(n_train: int, sharpness: Mapping) -> float:
    """Forward-pass equivalents of :func:`hw1.jobs.generalization.keskar_job` on one model:
    per ε, two L-BFGS-B maximisations (full space and subspace; a loss at the start and
    about ``iterations + 2`` gradients each, line searches included) and the projected ascent
    (``ascent_steps`` gradients and two losses), over ``train_examples`` examples."""
    n = min(int(sharpness.get("train_examples") or n_train), n_train)
    lbfgs = 1 + GRADIENT_PASSES * (int(sharpness["iterations"]) + 2)
    ascent = 2 + GRADIENT_PASSES * int(sharpness.get("ascent_steps", 30))
    return n * len(sharpness["eps"]) * (2 * lbfgs + ascent)


def analysis_seconds(
    name: str, options: Mapping, runs: list[tuple[Mapping, int, int]]
) -> float | None:
    """Rough seconds (2 CPU cores, as :func:`job_cost`) of analysis ``name`` with settings
    ``options`` over ``runs`` (each a training spec with its data set's training and test
    sizes), for the analyses whose work is the per-model measures (``flatness``,
    ``generalization_measures`` and its parts, ``keskar_sharpness``): every seed's passes
    (:func:`measures_passes`, :func:`keskar_passes`) at :func:`pass_seconds`. None for the
    others (the caller's default). A scheduling key and a progress estimate, like
    :func:`job_cost`: the training jobs an analysis waits for start earlier by its cost."""
    if name not in ("flatness", "generalization_measures", "keskar_sharpness"):
        return None
    total = 0.0
    for train, n_train, n_test in runs:
        ms = spec_of(train)
        seeds = seed_count(train)
        n = min(n_train, int(train.get("train_examples") or n_train))
        if name == "keskar_sharpness":
            passes = keskar_passes(n, options["sharpness"])
        else:
            passes = measures_passes(
                ms.n_out, n, n_test, options["sensitivity"], options.get("sharpness")
            )
        total += seeds * pass_seconds(ms, passes)
    return total


def job_flops(train: Mapping, n_train: int, n_test: int, evaluations: int | None = None) -> int:
    """Arithmetic of one training job (FLOPs, all seeds): ``epochs`` epochs of ⌊n/batch⌋
    training steps (forward + backward, :func:`~hw1.architectures.train_flops_per_example`)
    plus ``evaluations`` forward passes over the full training and test sets (default
    ``epochs + 1``: the engine evaluates before training and after every epoch). What the
    efficiency reports divide by a job's seconds; per-step records (gradient norms) and the
    optimizer update are not counted."""
    ms = spec_of(train)
    seeds = seed_count(train)
    n = min(n_train, int(train.get("train_examples") or n_train))
    batch = int(train["batch_size"])
    epochs = int(train["epochs"])
    evals = epochs + 1 if evaluations is None else int(evaluations)
    steps = epochs * (n // batch)
    per_seed = (
        train_flops_per_example(ms) * steps * batch
        + eval_flops_per_example(ms) * (n + n_test) * evals
    )
    return seeds * per_seed


# CUDA context, cuBLAS/cuDNN handles and workspaces of one job process (MB; measured by
# torch.cuda.mem_get_info around a job's start on an H100/H200: ~0.5-0.8 GB).
GPU_BASE_MB = 1000


def _activations_per_example(ms: ModelSpec) -> int:
    """Floats kept per example by a forward pass (each layer's output, twice for convs:
    before and after pooling)."""
    return sum(
        layer.n_out * layer.out_hw[0] * layer.out_hw[1] * (2 if layer.kind == "conv" else 1)
        for layer in layers(ms)
    )


def gpu_mem_mb(train: Mapping, n_train: int, n_test: int) -> int:
    """Upper estimate of one training job's GPU memory (MB), for the ``gpu_mem_mb``
    resource that lets several jobs share one GPU: the CUDA context, the data set, parameters
    with gradients, Adam moments and device-side snapshots, and activations of a training
    step (kept for backward, twice: the warm-up's and the captured graph's pool) and of an
    evaluation chunk. Measured on an H200 at full scale: the CNN jobs reserved 3.3 GB through
    torch plus a ~0.5 GB context (estimates 4.4-7.0 GB), MLP jobs 0.2-1.3 GB plus the context
    (estimates 1.0-1.9 GB)."""
    ms = spec_of(train)
    seeds = seed_count(train)
    n = min(n_train, int(train.get("train_examples") or n_train))
    in_floats = math.prod(ms.input_shape) + ms.n_out
    data = 2 * (n + n_test) * in_floats * 4  # the sets, and their joint-evaluation copy
    p = param_count(ms) * seeds * 4
    params = p * (4 + int(train["epochs"]) + 1)
    act = _activations_per_example(ms) * 4 * seeds
    step = 2 * 3 * act * int(train["batch_size"])
    chunk = min(int(train["eval_batch_size"]), n + n_test)
    evaluation = 2 * act * chunk  # no autograd, but the captured graph's pool keeps them
    return GPU_BASE_MB + math.ceil((data + params + step + evaluation) / 2**20)


# Memory (MB) and time limit (minutes) each analysis job declares, for cluster submissions
# (measured peaks well under 2 GB; the longest, flatness and minimal ratio, ~2 min at full
# scale on 2 CPU cores).
ANALYSIS_MEM_MB = 4000
ANALYSIS_RUNTIME_MIN = {
    "minimal_ratio": 120,
    "error_surface": 60,
    "interpolation": 60,
    "flatness": 120,
    "keskar_sharpness": 120,
    "generalization_measures": 180,
}
