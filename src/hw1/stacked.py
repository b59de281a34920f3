"""Stacked-seed networks: parameters with a leading seed dimension, one forward for all seeds,
hand-written backpropagation for dense stacks, and fused optimizer updates.

Why by hand: the homework's networks are tiny (472 parameters for the function fits, 141 for
the minimal-ratio runs), so a training step is framework overhead, not arithmetic. Autograd
records and replays a graph per step, ``torch.optim`` runs ~100 µs of Python per step, and
``baddbmm`` takes a slow path on the CPU. A dense stack's backward pass is a handful of
batched GEMMs, so it is written out here: every step is ~4 kernels per layer plus one fused
optimizer kernel over ONE flat buffer that holds every parameter of every seed. Networks
with conv layers keep autograd (the convolutions dominate) and the fused optimizer.

Layouts: the flat buffer ``theta`` is layer-major — for each parameter (in
``named_parameters()`` order) a contiguous ``[S, *shape]`` block — so every per-seed
parameter is a contiguous view and gradient GEMMs write straight into their slot.
:meth:`StackedEnsemble.flat` returns the canonical ``[S, P]`` rows (each seed's parameters
concatenated in ``named_parameters()`` order) that ``weights.parquet`` stores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import stack_module_state

from hw1.architectures import ModelSpec
from hw1.models import ParamLayout, build_model, flatten, unflatten


def init_model(spec: ModelSpec, seed: int) -> nn.Module:
    """Network initialised from ``seed`` alone (CPU generator, so identical on any device).

    Runs with the same seed and architecture start from the same weights, which makes
    comparisons across batch sizes or learning rates controlled.
    """
    with torch.random.fork_rng(devices=[]):
        # the CPU generator only: torch.manual_seed would also queue a lazy CUDA seeding
        torch.random.default_generator.manual_seed(seed)
        return build_model(spec)


class StackedEnsemble:
    """The seeds of one variant as stacked parameters ``[S, ...]`` and a stacked forward.

    The forward pass runs all seeds at once with batched kernels: ``bmm`` for linear layers
    and grouped convolutions (``groups = S``) for conv layers, in channels-last memory
    format (measured on 2 CPU cores: the grouped channels-last step is 1.1-1.6x faster than
    stepping the seeds' own modules one after another, the NCHW grouped step 0.6-0.8x, a
    per-seed convolution loop ~1x; max pooling is the bottleneck in NCHW). Parameter
    names and the flat layout are those of :func:`hw1.models.build_model`, so every analysis
    rebuilds the same network from a snapshot; a test checks the stacked forward against
    each seed's own ``nn.Module``. Parameters live in one flat buffer (``theta``; see the
    module docstring).
    """

    def __init__(self, mspec: ModelSpec, seeds: tuple[int, ...], device: torch.device):
        models = [init_model(mspec, s) for s in seeds]
        params, buffers = stack_module_state(models)
        if buffers:
            raise ValueError("stacked training supports parameter-only layers (no BatchNorm)")
        self._setup(models[0], len(seeds), {k: v.detach().to(device) for k, v in params.items()})

    @classmethod
    def from_flat(cls, mspec: ModelSpec, thetas: Tensor) -> StackedEnsemble:
        """An ensemble whose members are the rows of ``thetas`` ``[S, P]`` (e.g. snapshots,
        or points along an interpolation path), for stacked evaluation."""
        obj = cls.__new__(cls)
        template = build_model(mspec)
        obj._setup(template, thetas.shape[0], unflatten(thetas, ParamLayout.of(template)))
        return obj

    def _setup(self, template: nn.Module, n_seeds: int, params: dict[str, Tensor]) -> None:
        self.template = template
        self.layout = ParamLayout.of(template)
        self.n_seeds = n_seeds
        first = params[self.layout.names[0]]
        self.theta = torch.empty(
            n_seeds * self.layout.n_params, dtype=first.dtype, device=first.device
        )
        self.params = self._views(self.theta)
        with torch.no_grad():
            for k, v in params.items():
                self.params[k].copy_(v)
        self.has_conv = any(isinstance(m, nn.Conv2d) for m in template.children())
        self.order = _pool_before_relu(list(template.named_children()))
        self.is_dense = all(
            isinstance(m, nn.Linear | nn.Flatten) or type(m) in ACTIVATION_BACKWARD
            for m in template.children()
        )

    def _views(self, buf: Tensor) -> dict[str, Tensor]:
        """Per-parameter ``[S, *shape]`` views of a layer-major flat buffer."""
        out, off = {}, 0
        for name, shape, size in zip(
            self.layout.names, self.layout.shapes, self.layout.sizes, strict=True
        ):
            n = self.n_seeds * size
            out[name] = buf[off : off + n].view(self.n_seeds, *shape)
            off += n
        return out

    def forward(
        self, x: Tensor, shared_input: bool, params: dict[str, Tensor] | None = None
    ) -> Tensor:
        """Outputs ``[S, B, C]``; ``x`` is ``[B, ...]`` (shared by all seeds) or ``[S, B, ...]``.

        ``params`` (e.g. :func:`hw1.models.unflatten` views of a differentiable ``[S, P]``
        tensor) replaces the ensemble's own parameters for this call.
        """
        p = self.params if params is None else params
        s = p[self.layout.names[0]].shape[0]
        if shared_input and self.has_conv:
            # the grouped path with the input repeated per seed is ~5x faster on the CPU
            # than one wide convolution of the shared input (measured, 2 cores)
            x = x.unsqueeze(0).expand(s, *x.shape)
            shared_input = False
        # h is either "seed-major" [S, B, F] (dense part) or "grouped" [B, S*C, H, W] (conv part)
        h = x
        grouped = False
        flat_pending = shared_input  # input not yet given a seed dimension
        for name, mod in self.order:
            if isinstance(mod, nn.Conv2d):
                w = p[f"{name}.weight"]
                o = w.shape[1]
                if flat_pending:
                    h = F.conv2d(
                        h.contiguous(memory_format=torch.channels_last),
                        w.reshape(s * o, *w.shape[2:]),
                        p[f"{name}.bias"].reshape(-1),
                        padding=mod.padding,
                    )
                    flat_pending = False
                else:
                    if not grouped:  # [S, B, C, H, W] -> [B, S*C, H, W], channels last
                        h = h.transpose(0, 1).reshape(h.shape[1], -1, *h.shape[3:])
                        h = h.contiguous(memory_format=torch.channels_last)
                    h = F.conv2d(
                        h,
                        w.reshape(s * o, *w.shape[2:]),
                        p[f"{name}.bias"].reshape(-1),
                        padding=mod.padding,
                        groups=s,
                    )
                grouped = True
            elif isinstance(mod, nn.Linear):
                w, b = p[f"{name}.weight"], p[f"{name}.bias"]
                if flat_pending:  # one GEMM for all seeds: [B, in] x [in, S*out]
                    x2 = h.reshape(h.shape[0], -1)
                    o = w.shape[1]
                    h = torch.addmm(b.reshape(-1), x2, w.reshape(s * o, -1).T)
                    h = h.view(x2.shape[0], s, o).transpose(0, 1)
                    flat_pending = False
                else:  # bmm + add: baddbmm takes a slow path on the CPU
                    h = torch.bmm(h, w.transpose(1, 2)).add_(b.unsqueeze(1))
            elif isinstance(mod, nn.Flatten):
                if grouped:  # back to NCHW order: the dense weights expect C, H, W
                    h = _ToNCHW.apply(h).reshape(h.shape[0], s, -1).transpose(0, 1)
                    grouped = False
                elif not flat_pending:
                    h = h.reshape(s, h.shape[1], -1)
            elif isinstance(mod, nn.MaxPool2d) and _plain_2x2(mod, h):
                h = max_pool_2x2(h)
            elif type(mod) in _INPLACE:  # on the fresh output of the layer before: no copy
                h = _INPLACE[type(mod)](h)
            else:  # other activations and pooling act per channel / elementwise
                h = mod(h)
        return h

    def flat(self) -> Tensor:
        """Canonical ``[S, P]`` parameter rows (a copy)."""
        return flatten({k: v.detach() for k, v in self.params.items()}, self.layout)

    def load_flat(self, thetas: Tensor) -> None:
        """Overwrite the parameters with canonical ``[S, P]`` rows."""
        with torch.no_grad():
            for k, v in unflatten(thetas, self.layout).items():
                self.params[k].copy_(v)


def _plain_2x2(mod: nn.MaxPool2d, h: Tensor) -> bool:
    """Whether ``mod`` is a 2x2, stride-2, unpadded, undilated, floor-mode max pool and ``h``
    a channels-last 4-D tensor under ``no_grad`` (evaluation): the case :func:`max_pool_2x2`
    computes. Training keeps ``nn.MaxPool2d``, whose indices its backward needs."""
    return (
        not torch.is_grad_enabled()
        and h.dim() == 4
        and h.is_contiguous(memory_format=torch.channels_last)
        and mod.kernel_size in (2, (2, 2))
        and mod.stride in (2, (2, 2))
        and mod.padding in (0, (0, 0))
        and mod.dilation in (1, (1, 1))
        and not mod.ceil_mode
        and not mod.return_indices
    )


def max_pool_2x2(h: Tensor) -> Tensor:
    """``F.max_pool2d(h, 2)`` of a channels-last ``h`` ``[B, C, H, W]`` without the argmax
    indices, for evaluation: the elementwise maximum of its two rows, then of its two
    columns, on the ``[B, H, W, C]`` view (the same values: a maximum is exact; NaN
    propagates as in ``max_pool2d``). Channels-last out."""
    hh, ww = h.shape[2:]
    v = h.permute(0, 2, 3, 1)
    h2, w2 = hh // 2, ww // 2
    r = torch.maximum(v[:, 0 : 2 * h2 : 2], v[:, 1 : 2 * h2 : 2])
    r = torch.maximum(r[:, :, 0 : 2 * w2 : 2], r[:, :, 1 : 2 * w2 : 2])
    return r.permute(0, 3, 1, 2)


def _pool_before_relu(children: list[tuple[str, nn.Module]]) -> list[tuple[str, nn.Module]]:
    """The layers in the order the stacked forward runs them: a ReLU followed by a max pool
    swapped, so that the ReLU and its backward act on the 4x smaller pooled tensor.
    max(relu(a), relu(b)) == relu(max(a, b)) exactly, and where the two orders pick a
    different pooling index the ReLU's gradient there is zero, so outputs and gradients are
    bit-identical to the module's order."""
    out = list(children)
    for i in range(len(out) - 1):
        if type(out[i][1]) is nn.ReLU and type(out[i + 1][1]) is nn.MaxPool2d:
            out[i], out[i + 1] = out[i + 1], out[i]
    return out


class _ToNCHW(torch.autograd.Function):
    """``h.contiguous()`` (channels-last conv output to NCHW, for the dense layers) whose
    backward hands the gradient back in channels-last: given an NCHW gradient, the
    channels-last max pool's backward below copied its whole input-sized gradient (4x the
    pooled tensor) once more per step; the reorder here is of the pooled tensor. Copies
    only, so values are bit-identical either way (``benchmarks/cnn_step.py``)."""

    @staticmethod
    def forward(ctx: Any, h: Tensor) -> Tensor:
        return h.contiguous()

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Tensor:
        return g.contiguous(memory_format=torch.channels_last)


# ------------------------------------------------------------------------- losses


def per_seed_loss(task: str, out: Tensor, y: Tensor) -> Tensor:
    """Mean loss per seed: ``out`` ``[S, B, C]``, ``y`` ``[S, B]`` (labels) or ``[S, B, C]``."""
    s, b = out.shape[:2]
    if task == "classification":
        return (
            F.cross_entropy(out.reshape(s * b, -1), y.reshape(s * b), reduction="none")
            .view(s, b)
            .mean(1)
        )
    return (out - y).square_().reshape(s, -1).mean(1)


def per_example_loss(task: str, out: Tensor, y: Tensor) -> Tensor:
    """Loss of every example ``[S, B]`` (squared error summed over outputs for regression,
    divided by the output count, so that its mean is the per-sample MSE)."""
    s, b = out.shape[:2]
    if task == "classification":
        return F.cross_entropy(out.reshape(s * b, -1), y.reshape(s * b), reduction="none").view(
            s, b
        )
    return (out - y).square_().mean(-1)


# Conv nets are evaluated in chunks of this many images on the CPU: activations that stay
# in cache made the full-set evaluation of a 3-seed 28x28 CNN 2.5x faster than chunks of
# 2,000 (measured, 2 cores). The result does not depend on the chunk size.
CONV_EVAL_CHUNK = 128
# Dense nets are evaluated on the CPU in chunks whose widest activation ([S, chunk, width],
# float32) stays within this many bytes: 3-seed 784-1024-1024-10 MLPs evaluated 70,000
# images in 2.37 s in chunks of 512 against 2.66 s in chunks of 10,000, 784-256-256-10 ones
# 0.83-0.86 s against 0.87 s (benchmarks/eval_chunks.py, 1 thread, best of 5). The result
# does not depend on the chunk size (below).
DENSE_EVAL_BYTES = 6 * 2**20


def dense_eval_chunk(ens: StackedEnsemble) -> int:
    """Images per chunk of a dense ensemble's CPU evaluation: its widest activation within
    :data:`DENSE_EVAL_BYTES` (at least 256 images)."""
    widest = max(shape[0] for shape in ens.layout.shapes)  # a layer's outputs
    return max(256, DENSE_EVAL_BYTES // (4 * ens.n_seeds * widest))


@torch.no_grad()
def evaluate(
    ens: StackedEnsemble, task: str, x: Tensor, y: Tensor, chunk: int
) -> tuple[Tensor, Tensor]:
    """Full-set mean loss and accuracy per seed (``[S]`` each, float64; accuracy NaN for
    regression). For regression the loss is the per-sample MSE. The sums are accumulated in
    float64 chunk by chunk, so the result does not depend on the chunk size beyond float32
    round-off of each example's loss."""
    n = x.shape[0]
    if ens.has_conv and x.device.type == "cpu":
        chunk = min(chunk, CONV_EVAL_CHUNK)
    elif x.device.type == "cpu":
        chunk = min(chunk, dense_eval_chunk(ens))
    loss = torch.zeros(ens.n_seeds, dtype=torch.float64, device=x.device)
    correct = torch.zeros(ens.n_seeds, dtype=torch.float64, device=x.device)
    for start in range(0, n, chunk):
        xc, yc = x[start : start + chunk], y[start : start + chunk]
        out = ens.forward(xc, shared_input=True)  # [S, c, C]
        yy = yc.unsqueeze(0).expand(ens.n_seeds, *yc.shape)
        loss += per_example_loss(task, out, yy).sum(1, dtype=torch.float64)
        if task == "classification":
            correct += (out.argmax(-1) == yc.unsqueeze(0)).sum(1)
    acc = correct / n if task == "classification" else torch.full_like(loss, float("nan"))
    return loss / n, acc


# ------------------------------------------------------------------ dense backprop

# activation module -> (in-place forward on the pre-activation, backward(g, out, pre))
ACTIVATION_BACKWARD: dict[type[nn.Module], Callable[[Tensor, Tensor, Tensor], Tensor]] = {
    nn.ReLU: lambda g, out, pre: torch.ops.aten.threshold_backward(g, out, 0),
    nn.Tanh: lambda g, out, pre: torch.ops.aten.tanh_backward(g, out),
    nn.Sigmoid: lambda g, out, pre: torch.ops.aten.sigmoid_backward(g, out),
    nn.LeakyReLU: lambda g, out, pre: torch.ops.aten.leaky_relu_backward(g, pre, 0.01, False),
    nn.ELU: lambda g, out, pre: torch.ops.aten.elu_backward(g, 1.0, 1.0, 1.0, False, pre),
    nn.GELU: lambda g, out, pre: torch.ops.aten.gelu_backward(g, pre),
}
# activations whose backward needs only the output: applied in place on the pre-activation
_INPLACE = {nn.ReLU: torch.relu_, nn.Tanh: torch.tanh_, nn.Sigmoid: torch.sigmoid_}


@dataclass
class _Dense:
    weight: Tensor  # [S, out, in] view of theta
    weight_t: Tensor  # its [S, in, out] transpose (a view, made once)
    bias: Tensor  # [S, 1, out] view of theta
    grad_weight: Tensor  # views of the gradient buffer
    grad_bias: Tensor  # [S, out]
    act: nn.Module | None  # activation after this layer (None for the output layer)
    act_inplace: Callable[[Tensor], Tensor] | None  # in-place version, if its backward
    act_backward: Callable[[Tensor, Tensor, Tensor], Tensor] | None  # needs only the output


class DenseBackprop:
    """Loss and gradient of a dense stacked ensemble, written out by hand.

    Each seed's gradient of its own minibatch mean loss is written into ``grad`` (same
    layer-major layout as ``ens.theta``), exactly the gradient autograd gives for the sum of
    the per-seed losses; a test checks it against autograd and the whole training run
    against plain PyTorch.
    """

    def __init__(self, ens: StackedEnsemble, task: str):
        if not ens.is_dense:
            raise ValueError("DenseBackprop needs a network of Linear layers and activations")
        self.ens, self.task = ens, task
        self.grad = torch.zeros_like(ens.theta)
        gviews = ens._views(self.grad)
        mods = list(ens.template.named_children())
        self.layers: list[_Dense] = []
        for i, (name, mod) in enumerate(mods):
            if isinstance(mod, nn.Linear):
                act = mods[i + 1][1] if i + 1 < len(mods) else None
                w = ens.params[f"{name}.weight"]
                self.layers.append(
                    _Dense(
                        w,
                        w.transpose(1, 2),
                        ens.params[f"{name}.bias"].unsqueeze(1),
                        gviews[f"{name}.weight"],
                        gviews[f"{name}.bias"],
                        act,
                        _INPLACE.get(type(act)),
                        ACTIVATION_BACKWARD.get(type(act)),
                    )
                )
        self._neg = None

    def loss_and_grad(self, x: Tensor, y: Tensor, want_loss: bool) -> Tensor | None:
        """Fill ``self.grad`` for minibatches ``x`` ``[S, B, in]``, ``y`` ``[S, B]`` (labels)
        or ``[S, B, C]`` (targets); return the per-seed minibatch losses when asked."""
        s, b = x.shape[:2]
        h = x.reshape(s, b, -1)
        inputs: list[Tensor] = []  # each layer's input
        pre: list[Tensor | None] = []  # pre-activations, kept only where backward needs them
        for layer in self.layers:
            inputs.append(h)
            z = torch.bmm(h, layer.weight_t).add_(layer.bias)
            if layer.act is None:
                out = z
                pre.append(None)
            elif layer.act_inplace is not None:
                h = layer.act_inplace(z)
                pre.append(None)
            else:
                h = layer.act(z)
                pre.append(z)
        loss = per_seed_loss(self.task, out, y) if want_loss else None
        g = self._output_grad(out, y, b)
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            torch.bmm(g.transpose(1, 2), inputs[i], out=layer.grad_weight)
            torch.sum(g, 1, out=layer.grad_bias)
            if i > 0:
                below = self.layers[i - 1]
                g = below.act_backward(torch.bmm(g, layer.weight), inputs[i], pre[i - 1])
        return loss

    def _output_grad(self, out: Tensor, y: Tensor, b: int) -> Tensor:
        """d(sum over seeds of the mean minibatch loss) / d(output)."""
        if self.task == "classification":
            g = torch.softmax(out, -1)
            if self._neg is None or self._neg.shape != (*y.shape, 1):
                self._neg = torch.full((*y.shape, 1), -1.0, dtype=out.dtype, device=out.device)
            g.scatter_add_(-1, y.unsqueeze(-1), self._neg)
            return g.mul_(1.0 / b)
        # mean over B*C squared errors per seed: 2 (out - y) / (B*C)
        return torch.sub(out, y).mul_(2.0 / (b * out.shape[-1]))


# --------------------------------------------------------------- fused optimizers


class FusedOptimizer:
    """Adam or SGD (with momentum) over lists of parameter and gradient tensors, one fused
    kernel per step (``torch._fused_adam_`` / ``torch._fused_sgd_``). Both act elementwise,
    so each seed's slice is updated exactly as its own optimizer would update it. The
    learning rate is set each epoch with :meth:`set_lr`. With ``lr_tensor=True`` it lives in a
    one-element device tensor that the kernels read (the ``tensor_lr`` overloads, bit-identical
    to the float ones on the CPU), so a step captured in a CUDA graph still follows the
    schedule; :meth:`device_step` is then the capturable part and :meth:`step` adds the host
    step count."""

    def __init__(
        self,
        kind: str,
        params: list[Tensor],
        grads: list[Tensor],
        *,
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        lr_tensor: bool = False,
    ):
        if kind not in ("adam", "sgd"):
            raise ValueError(f"unknown optimizer {kind!r}; allowed: ['adam', 'sgd']")
        self.kind, self.params, self.grads = kind, params, grads
        self.lr, self.momentum, self.weight_decay = float(lr), float(momentum), float(weight_decay)
        dev = params[0].device
        self.step_count = torch.zeros((), dtype=torch.float32, device=dev)
        self.n_steps = 0  # the same count on the host (no device sync to read it)
        # float64 on the CPU (its kernels read it as a double: bit-identical to a float lr);
        # the CUDA kernels read float32
        lr_dtype = torch.float64 if dev.type == "cpu" else torch.float32
        self.lr_t = torch.tensor(self.lr, dtype=lr_dtype, device=dev) if lr_tensor else None
        if kind == "adam":
            self.exp_avg = [torch.zeros_like(p) for p in params]
            self.exp_avg_sq = [torch.zeros_like(p) for p in params]
        else:
            self.momentum_buffer = [torch.zeros_like(p) for p in params]

    def set_lr(self, lr: float) -> None:
        """The learning rate of the following steps (a device write when ``lr_tensor``)."""
        self.lr = float(lr)
        if self.lr_t is not None:
            self.lr_t.fill_(self.lr)

    def step(self) -> None:
        """One update of every parameter from its gradient."""
        self.device_step()
        self.n_steps += 1

    @torch.no_grad()
    def device_step(self) -> None:
        """The update's device work alone (what a captured step replays); SGD with momentum
        treats it as the first step while :attr:`n_steps` is 0."""
        self.step_count.add_(1)
        lr = self.lr if self.lr_t is None else self.lr_t
        if self.kind == "adam":
            torch._fused_adam_(
                self.params,
                self.grads,
                self.exp_avg,
                self.exp_avg_sq,
                [],
                [self.step_count] * len(self.params),
                lr=lr,
                beta1=0.9,
                beta2=0.999,
                weight_decay=self.weight_decay,
                eps=1e-8,
                amsgrad=False,
                maximize=False,
            )
        elif self.momentum == 0.0:
            torch._fused_sgd_(
                self.params,
                self.grads,
                [],
                weight_decay=self.weight_decay,
                momentum=0.0,
                lr=lr,
                dampening=0.0,
                nesterov=False,
                maximize=False,
                is_first_step=False,
            )
        else:
            torch._fused_sgd_(
                self.params,
                self.grads,
                self.momentum_buffer,
                weight_decay=self.weight_decay,
                momentum=self.momentum,
                lr=lr,
                dampening=0.0,
                nesterov=False,
                maximize=False,
                is_first_step=self.n_steps == 0,
            )

    def state_dict(self) -> dict[str, object]:
        state: dict[str, object] = {
            "step": self.step_count.clone(),
            "n": self.n_steps,
            "lr": self.lr,
        }
        if self.kind == "adam":
            state["exp_avg"] = [t.clone() for t in self.exp_avg]
            state["exp_avg_sq"] = [t.clone() for t in self.exp_avg_sq]
        else:
            state["momentum_buffer"] = [t.clone() for t in self.momentum_buffer]
        return state

    def load_state_dict(self, state: dict) -> None:
        self.step_count.copy_(state["step"])
        self.n_steps = int(state["n"])
        self.set_lr(float(state["lr"]))
        names = ("exp_avg", "exp_avg_sq") if self.kind == "adam" else ("momentum_buffer",)
        for name in names:
            for dst, src in zip(getattr(self, name), state[name], strict=True):
                dst.copy_(src)


def grad_norms(grads: Iterator[Tensor], n_seeds: int) -> Tensor:
    """Per-seed Euclidean norm over all parameters of ``[S, ...]`` gradient tensors."""
    sq = None
    for g in grads:
        part = g.reshape(n_seeds, -1).square().sum(1)
        sq = part if sq is None else sq.add_(part)
    assert sq is not None
    return sq.sqrt_()
