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
from hw1.schema import MODEL_DEFAULTS, model_with_defaults

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
    # the schema's values (hw1.schema.MODEL_DEFAULTS), for specs built in code
    kernel_size: int = MODEL_DEFAULTS["kernel_size"]
    pool_every: int = MODEL_DEFAULTS["pool_every"]
    activation: str = MODEL_DEFAULTS["activation"]

    @staticmethod
    def from_dict(d: Mapping, input_shape: Sequence[int], n_out: int) -> ModelSpec:
        """Build a spec from a config mapping (keys as in ``config.yaml``'s ``model``; those it
        leaves out take the schema's values)."""
        d = model_with_defaults(d)
        return ModelSpec(
            type=str(d["type"]),
            input_shape=tuple(int(v) for v in input_shape),
            n_out=int(n_out),
            hidden=tuple(int(h) for h in d.get("hidden", ())),
            channels=tuple(int(c) for c in d.get("channels", ())),
            kernel_size=int(d["kernel_size"]),
            pool_every=int(d["pool_every"]),
            activation=str(d["activation"]),
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
