"""A/B: full-set evaluation of a 3-seed CNN ensemble (7,000 MNIST-shaped images, 1 thread,
best of 7 interleaved rounds, ms) with the index-free 2x2 pool (fast) or nn.MaxPool2d
(native), at CONV_EVAL_CHUNK 128 (the default) and 64; every result checked against
native128 (rtol 1e-6; bit-identical by tests/unit/test_stacked.py).

    python eval_pool_ab.py
"""

import time

import torch

import hw1.stacked as st
from hw1 import runtime
from hw1.architectures import ModelSpec
from hw1.stacked import StackedEnsemble, evaluate

runtime.configure(1)
torch.manual_seed(0)
N = 7000
x, y = torch.rand(N, 1, 28, 28), torch.randint(0, 10, (N,))
ARCHS = {"cnn1": ([8], [16]), "cnn2": ([8, 16], [30]), "cnn4": ([8, 16, 32, 64], [])}
FAST = st._plain_2x2


def timed(ens):
    t0 = time.perf_counter()
    r = evaluate(ens, "classification", x, y, 10**9)
    return time.perf_counter() - t0, r


for name, (ch, hid) in ARCHS.items():
    sp = ModelSpec.from_dict({"type": "cnn", "channels": ch, "hidden": hid}, (1, 28, 28), 10)
    ens = StackedEnsemble(sp, (0, 1, 2), torch.device("cpu"))
    res, ref = {}, None
    for _ in range(7):
        for fast in (False, True):
            st._plain_2x2 = FAST if fast else (lambda mod, h: False)
            for c in (128, 64):
                st.CONV_EVAL_CHUNK = c
                t, r = timed(ens)
                k = f"{'fast' if fast else 'native'}{c}"
                res[k] = min(res.get(k, 9.0), t)
                ref = r if ref is None else ref
                same = zip(r, ref, strict=True)
                assert all(torch.allclose(a, b, rtol=1e-6, atol=0) for a, b in same), k
    print(name, " ".join(f"{k}={v * 1000:.0f}" for k, v in res.items()), flush=True)
