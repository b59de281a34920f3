"""Where one CNN's generalization measures spend their time (random weights, MNIST-shaped
data): python measures_one_model.py cnn1|cnn2|cnn4."""

import sys
import time

import torch

from hw1.analysis.sensitivity import mean_sensitivity
from hw1.analysis.sharpness import eps_sharpness, top_hessian_eigenvalue
from hw1.architectures import ModelSpec
from hw1.models import build_model, flat_loss_fn

torch.set_num_threads(1)
ch = {"cnn1": ([8], [16]), "cnn2": ([8, 16], [30]), "cnn4": ([8, 16, 32, 64], [])}[sys.argv[1]]
spec = ModelSpec.from_dict({"type": "cnn", "channels": ch[0], "hidden": ch[1]}, (1, 28, 28), 10)
torch.manual_seed(0)
net = build_model(spec).to(memory_format=torch.channels_last).eval()
theta = torch.cat([p.detach().reshape(-1) for p in net.parameters()])
g = torch.Generator().manual_seed(0)
xt = torch.rand(10000, 1, 28, 28, generator=g)
x = torch.rand(5000, 1, 28, 28, generator=g).contiguous(memory_format=torch.channels_last)
y = torch.randint(0, 10, (5000,), generator=g)
f = flat_loss_fn(net)


def lf(t):
    return f(t, x, y)


def tm(name, fn):
    t0 = time.perf_counter()
    r = fn()
    print(f"{name}: {time.perf_counter() - t0:.2f} s -> {r}", flush=True)


tm("sensitivity 10k", lambda: mean_sensitivity(net, xt, chunk=500))
tm(
    "sharpness 20 steps",
    lambda: eps_sharpness(
        lf, theta, 1e-3, steps=20, lr=0.1, init="random", generator=torch.Generator().manual_seed(0)
    ),
)
tm(
    "lanczos 50",
    lambda: top_hessian_eigenvalue(
        lf, theta, iters=50, tol=1e-3, generator=torch.Generator().manual_seed(1)
    ),
)


def fb():
    th = theta.clone().requires_grad_(True)
    torch.autograd.grad(lf(th), th)


tm("one fwd+bwd 5k x3", lambda: [fb() for _ in range(3)])
