"""Loss + gradient of a 784-512-512-10 MLP over 60,000 images, freed memory kept (on) or not."""

import resource
import sys
import time

import torch

from hw1.architectures import ModelSpec
from hw1.models import build_model, flat_loss_fn
from hw1.runtime import retain_freed_memory

mode = sys.argv[1]
if mode == "on":
    retain_freed_memory()
torch.set_num_threads(1)

spec = ModelSpec.from_dict({"type": "mlp", "hidden": [512, 512]}, (1, 28, 28), 10)
net = build_model(spec)
theta = torch.cat([p.detach().reshape(-1) for p in net.parameters()])
g = torch.Generator().manual_seed(0)
x = torch.rand(60000, 1, 28, 28, generator=g)
y = torch.randint(0, 10, (60000,), generator=g)
f = flat_loss_fn(net)
best = 1e9
for _ in range(5):
    t0 = time.perf_counter()
    th = theta.clone().requires_grad_(True)
    torch.autograd.grad(f(th, x, y), th)
    best = min(best, time.perf_counter() - t0)
r = resource.getrusage(resource.RUSAGE_SELF)
rss = r.ru_maxrss // 1024
print(mode, f"best {best:.3f} s per loss+grad over 60k, sys {r.ru_stime:.1f} maxrss {rss} MB")
