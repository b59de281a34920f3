"""Network architectures as plain data: shapes, parameter counts and FLOPs without torch.

Snakemake parses the workflow (and validates the config) on every call; importing torch and
building real networks there cost seconds and gigabytes, and an absurd width tried to
allocate terabytes. Everything the parse needs about a network — its layer shapes, its
parameter count, the work of one training step — is computed here arithmetically, and
:mod:`hw1.models` builds the real modules from the same :class:`ModelSpec`; a test checks
that the counts agree with ``nn.Module.parameters()``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hw1 import datasets

ACTIVATION_NAMES = ("relu", "tanh", "sigmoid", "leaky_relu", "elu", "gelu")


@dataclass(frozen=True)
class ModelSpec:
    """Architecture of one network.

    ``type`` is ``mlp`` (fully connected) or ``cnn`` (conv blocks, then a fully connected
    head). ``input_shape`` excludes the batch dimension: ``(1,)`` for a 1-D function, the
    registry's ``(channels, height, width)`` for an image data set.
    """

    type: str
    input_shape: tuple[int, ...]
    n_out: int
    hidden: tuple[int, ...] = ()
    channels: tuple[int, ...] = ()
    kernel_size: int = 3
    pool_every: int = 1
    activation: str = "relu"

    @staticmethod
    def from_dict(d: Mapping, input_shape: Sequence[int], n_out: int) -> ModelSpec:
        """Build a spec from a config mapping (keys as in ``config.yaml``'s ``model``)."""
        return ModelSpec(
            type=str(d["type"]),
            input_shape=tuple(int(v) for v in input_shape),
            n_out=int(n_out),
            hidden=tuple(int(h) for h in d.get("hidden", ())),
            channels=tuple(int(c) for c in d.get("channels", ())),
            kernel_size=int(d.get("kernel_size", 3)),
            pool_every=int(d.get("pool_every", 1)),
            activation=str(d.get("activation", "relu")),
        )


@dataclass(frozen=True)
class Layer:
    """One parameterised layer: ``conv`` (in/out channels, output height/width) or ``dense``."""

    kind: str
    n_in: int
    n_out: int
    kernel: int = 1
    out_hw: tuple[int, int] = (1, 1)
    pool: bool = False

    @property
    def n_params(self) -> int:
        return self.n_out * self.n_in * self.kernel * self.kernel + self.n_out

    @property
    def macs(self) -> int:
        """Multiply-adds of the forward pass per example."""
        return self.n_out * self.n_in * self.kernel * self.kernel * self.out_hw[0] * self.out_hw[1]


def layers(spec: ModelSpec) -> list[Layer]:
    """The parameterised layers of ``spec`` in order (as :func:`hw1.models.build_model` makes
    them: same-padded convs with a 2x2 max pool every ``pool_every`` layers, then dense)."""
    out: list[Layer] = []
    if spec.type == "mlp":
        width = math.prod(spec.input_shape)
    elif spec.type == "cnn":
        if len(spec.input_shape) != 3:
            raise ValueError(
                f"a cnn needs a (channels, height, width) input, got {spec.input_shape}"
            )
        if not spec.channels:
            raise ValueError("a cnn needs at least one conv layer in 'channels'")
        in_ch, h, w = spec.input_shape
        for i, ch in enumerate(spec.channels):
            pool = (i + 1) % spec.pool_every == 0 and h >= 2 and w >= 2
            out.append(Layer("conv", in_ch, ch, spec.kernel_size, (h, w), pool))
            if pool:
                h, w = h // 2, w // 2
            in_ch = ch
        width = in_ch * h * w
    else:
        raise ValueError(f"unknown model type {spec.type!r}; allowed: ['cnn', 'mlp']")
    for hdim in spec.hidden:
        out.append(Layer("dense", width, hdim))
        width = hdim
    out.append(Layer("dense", width, spec.n_out))
    return out


def param_count(spec: ModelSpec) -> int:
    """Trainable parameters of the network of ``spec`` (no allocation)."""
    return sum(layer.n_params for layer in layers(spec))


def train_flops_per_example(spec: ModelSpec) -> int:
    """FLOPs of one training example: forward (2 per multiply-add) plus backward (twice the
    forward: gradients with respect to inputs and weights), the usual 3x forward count."""
    return 6 * sum(layer.macs for layer in layers(spec))


def eval_flops_per_example(spec: ModelSpec) -> int:
    """FLOPs of the forward pass of one example."""
    return 2 * sum(layer.macs for layer in layers(spec))


def spec_of(train: Mapping) -> ModelSpec:
    """The :class:`ModelSpec` of a training spec (a dict with ``model`` and ``dataset``)."""
    ds = str(train["dataset"])
    return ModelSpec.from_dict(train["model"], datasets.input_shape(ds), datasets.n_outputs(ds))


# Threads of a training job. Measured on this project's 2-core VM (one step, all seeds, 1 vs
# 2 threads): the function and minimal-ratio nets gain nothing from a second thread; 784-input
# MLPs with steps of 0.1-0.6 GFLOP gain 1.0-1.6x (8 x 784-32-32: 1.01x, 3 x 784-64: 0.97x,
# 784-256-256 at batch 64: 1.22x); steps of >= 1 GFLOP 1.25-1.6x; the CNNs 1.66-1.73x. Two
# one-thread jobs side by side do twice the work of one, so a second thread pays only where
# it comes close to that: CNNs, and dense steps of at least 1 GFLOP.
LARGE_STEP_FLOPS = 1_000_000_000


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
    step *= len(train["seeds"]) if isinstance(train["seeds"], list) else int(train["seeds"])
    return 1 if step < LARGE_STEP_FLOPS else int(max_threads)


def job_cost(train: Mapping, n_train: int, n_test: int) -> float:
    """Rough cost (seconds on 2 CPU cores) of one training job: its FLOPs (training steps
    plus the full-set evaluation after every epoch) at ~100 GFLOP/s plus ~0.5 ms of
    overhead per step. Only an ordering key: the workflow starts the longest jobs first
    (longest-processing-time scheduling keeps both cores busy to the end)."""
    ms = spec_of(train)
    seeds = len(train["seeds"]) if isinstance(train["seeds"], list) else int(train["seeds"])
    n = min(n_train, int(train.get("train_examples") or n_train))
    steps = n // int(train["batch_size"])
    per_epoch = seeds * (
        train_flops_per_example(ms) * steps * int(train["batch_size"])
        + eval_flops_per_example(ms) * (n + n_test)
    )
    return int(train["epochs"]) * (per_epoch / 1e11 + steps * 5e-4)


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
    seeds = len(train["seeds"]) if isinstance(train["seeds"], list) else int(train["seeds"])
    n = min(n_train, int(train.get("train_examples") or n_train))
    in_floats = math.prod(ms.input_shape) + ms.n_out
    data = 2 * (n + n_test) * in_floats * 4  # the sets, and their joint-evaluation copy
    p = param_count(ms) * seeds * 4
    params = p * (4 + int(train["epochs"]) + 1)
    act = _activations_per_example(ms) * 4 * seeds
    step = 2 * 3 * act * int(train["batch_size"])
    chunk = min(int(train.get("eval_batch_size") or 10000), n + n_test)
    evaluation = 2 * act * chunk  # no autograd, but the captured graph's pool keeps them
    return GPU_BASE_MB + math.ceil((data + params + step + evaluation) / 2**20)
