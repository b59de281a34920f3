"""Networks built from a config spec, parameter counting and flat parameter views.

Every experiment of the homework builds its networks here, so the parameter counts that
figures print are the counts of the networks that were trained.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from torch.func import functional_call

from hw1.architectures import ACTIVATION_NAMES, ModelSpec, layers

__all__ = [
    "ACTIVATIONS",
    "ParamLayout",
    "build_model",
    "count_params",
    "flat_forward_fn",
    "flat_loss_fn",
    "flatten",
    "unflatten",
]

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
}
assert tuple(ACTIVATIONS) == ACTIVATION_NAMES


def build_model(spec: ModelSpec) -> nn.Sequential:
    """Return the network described by ``spec`` (PyTorch default initialisation).

    The layers and their shapes come from :func:`hw1.architectures.layers` (the one description of
    an architecture, also used torch-free at parse time): same-padded convs, each followed
    by the activation and, where the spec pools, a 2x2 max pool; then the dense layers."""
    if spec.activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {spec.activation!r}; allowed: {sorted(ACTIVATIONS)}")
    act = ACTIVATIONS[spec.activation]
    plan = layers(spec)  # validates type and shapes
    modules: list[nn.Module] = []
    if spec.type == "mlp" and len(spec.input_shape) > 1:
        modules.append(nn.Flatten())
    for i, layer in enumerate(plan):
        if layer.kind == "conv":
            modules += [
                nn.Conv2d(layer.n_in, layer.n_out, layer.kernel, padding=layer.kernel // 2),
                act(),
            ]
            if layer.pool:
                modules.append(nn.MaxPool2d(2))
            if plan[i + 1].kind == "dense":
                modules.append(nn.Flatten())
        else:
            modules.append(nn.Linear(layer.n_in, layer.n_out))
            if i < len(plan) - 1:
                modules.append(act())
    return nn.Sequential(*modules)


def count_params(module: nn.Module) -> int:
    """Number of trainable scalars."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


@dataclass(frozen=True)
class ParamLayout:
    """Names and shapes of a module's parameters, in ``named_parameters()`` order.

    The flat vector of a model is the concatenation of its flattened parameters in this
    order; ``slices`` tells which columns belong to which parameter.
    """

    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    sizes: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sizes", tuple(math.prod(s) for s in self.shapes))

    @staticmethod
    def of(module: nn.Module) -> ParamLayout:
        named = list(module.named_parameters())
        return ParamLayout(tuple(n for n, _ in named), tuple(tuple(p.shape) for _, p in named))

    @property
    def n_params(self) -> int:
        return sum(self.sizes)

    def slices(self) -> dict[str, slice]:
        """Column range of each parameter in the flat vector."""
        out, start = {}, 0
        for name, size in zip(self.names, self.sizes, strict=True):
            out[name] = slice(start, start + size)
            start += size
        return out

    def layer_columns(self, prefix: str) -> slice:
        """Contiguous column range of all parameters whose name starts with ``prefix.``."""
        sl = [s for n, s in self.slices().items() if n.split(".")[0] == prefix]
        if not sl:
            raise KeyError(f"no parameter belongs to layer {prefix!r}; layers: {self.layers()}")
        return slice(sl[0].start, sl[-1].stop)

    def layers(self) -> list[str]:
        """Module names that own parameters, in order (``'0'``, ``'2'``, ...)."""
        seen: list[str] = []
        for n in self.names:
            head = n.split(".")[0]
            if head not in seen:
                seen.append(head)
        return seen

    def to_json(self) -> dict:
        return {"names": list(self.names), "shapes": [list(s) for s in self.shapes]}

    @staticmethod
    def from_json(d: Mapping) -> ParamLayout:
        return ParamLayout(tuple(d["names"]), tuple(tuple(s) for s in d["shapes"]))


def flatten(params: Mapping[str, Tensor], layout: ParamLayout) -> Tensor:
    """Concatenate parameters into one vector (or ``[S, P]`` when they carry a leading seed
    dimension beyond the layout's shapes)."""
    first = params[layout.names[0]]
    lead = first.shape[: first.dim() - len(layout.shapes[0])]
    return torch.cat([params[n].reshape(*lead, -1) for n in layout.names], dim=-1)


def unflatten(theta: Tensor, layout: ParamLayout) -> dict[str, Tensor]:
    """Inverse of :func:`flatten`; works on ``[P]`` or ``[..., P]`` (views, no copy)."""
    if theta.shape[-1] != layout.n_params:
        raise ValueError(f"vector has {theta.shape[-1]} entries, layout needs {layout.n_params}")
    lead = theta.shape[:-1]
    out: dict[str, Tensor] = {}
    for (name, sl), shape in zip(layout.slices().items(), layout.shapes, strict=True):
        out[name] = theta[..., sl].reshape(*lead, *shape)
    return out


def flat_loss_fn(module: nn.Module, loss: nn.Module | None = None):
    """Return ``f(theta, x, y) -> scalar`` evaluating ``module`` at flat parameters ``theta``.

    Uses ``torch.func.functional_call`` so that ``f`` composes with ``grad``, ``vmap`` and
    ``hessian``. ``loss`` defaults to the mean cross-entropy; pass ``nn.MSELoss()`` for
    regression.
    """
    layout = ParamLayout.of(module)
    crit = loss if loss is not None else nn.CrossEntropyLoss()

    def f(theta: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return crit(functional_call(module, unflatten(theta, layout), (x,)), y)

    return f


def flat_forward_fn(module: nn.Module):
    """Return ``g(theta, x) -> output`` evaluating ``module`` at flat parameters ``theta``."""
    layout = ParamLayout.of(module)

    def g(theta: Tensor, x: Tensor) -> Tensor:
        return functional_call(module, unflatten(theta, layout), (x,))

    return g
