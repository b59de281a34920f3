"""Seconds of one Hessian-vector product (double backpropagation through a retained graph,
as hw1.analysis.sharpness.top_hessian_eigenvalue does) against one gradient of the same
loss (as the ε-sharpness ascent takes), 5,000 images, 1 thread, best of 5 in one process:
the ratio behind hw1.resources.HVP_PASSES (4 forward-pass equivalents against a gradient's 3).

    .venv/bin/python benchmarks/cpu-results/2026-12-04-analysis-cost/hvp_vs_gradient.py
"""

import time

import torch

from hw1.architectures import ModelSpec
from hw1.models import ParamLayout, build_model, flat_loss_fn, flatten
from hw1.runtime import retain_freed_memory

MODELS = {
    "cnn1": {"type": "cnn", "channels": [8], "hidden": [16]},
    "cnn4": {"type": "cnn", "channels": [8, 16, 32, 64], "hidden": []},
    "mlp 256-256": {"type": "mlp", "hidden": [256, 256]},
    "mlp 1024-1024": {"type": "mlp", "hidden": [1024, 1024]},
}


def best(fn, n=5):
    fn()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    retain_freed_memory()  # as the analysis jobs run
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x = torch.randn(5000, 1, 28, 28)
    y = torch.randint(0, 10, (5000,))
    for name, d in MODELS.items():
        ms = ModelSpec.from_dict(d, (1, 28, 28), 10)
        net = build_model(ms)
        xx = x
        if ms.type == "cnn":
            net = net.to(memory_format=torch.channels_last)
            xx = x.contiguous(memory_format=torch.channels_last)
        th = flatten(dict(net.named_parameters()), ParamLayout.of(net)).detach()
        f = flat_loss_fn(net)
        v = torch.randn_like(th)

        def gradient(th=th, f=f, xx=xx):
            t = th.clone().requires_grad_(True)
            return torch.autograd.grad(f(t, xx, y), t)[0]

        t = th.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(f(t, xx, y), t, create_graph=True)

        def hvp(g=g, t=t, v=v):
            return torch.autograd.grad(g, t, grad_outputs=v, retain_graph=True)[0]

        tg, th_ = best(gradient), best(hvp)
        print(
            f"{name:14s} gradient {tg:.3f} s  Hessian-vector product {th_:.3f} s  "
            f"ratio {th_ / tg:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
