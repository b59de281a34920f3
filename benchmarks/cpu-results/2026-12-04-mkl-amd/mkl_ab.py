"""MKL's generic path against its own kernels (the hw1.mkl shim preloaded) on an AMD CPU:
the fp32 GEMM peak and one epoch (its training steps and two full-set evaluations) of each
kind of training job of config.yaml on MNIST, 1 thread, each in a fresh process, the two
settings alternating, best of ``--repeat``. Time nothing while other work shares the CPU.

    .venv/bin/python benchmarks/cpu-results/2026-12-04-mkl-amd/mkl_ab.py [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "src"))

from hw1 import mkl  # noqa: E402

JOBS = [
    ("random_labels", "mnist-random"),
    ("params_vs_generalization", "mnist-h1024"),
    ("params_vs_generalization", "mnist-h256"),
    ("batch_size", "mnist-bs32"),
    ("batch_size", "mnist-bs2048"),
    ("interpolation", "mnist-small_batch"),
    ("cnn_depth", "mnist-cnn1"),
    ("cnn_depth", "mnist-cnn4"),
]
CHILD = """
import sys, time, torch
sys.path.insert(0, {bench!r})
from bench_common import config_variants, gemm_peaks, one_epoch_jobs
from hw1.engine import train
from hw1.mkl import mkl_code_path
torch.set_num_threads(1)
exp, var = sys.argv[1], sys.argv[2]
if exp == "gemm":
    print(f"{{mkl_code_path()}} {{gemm_peaks([1])[1]:.1f}}")
else:
    cache, variants = config_variants(exp, "mnist", None)
    for _, _, ts, _, data in one_epoch_jobs({{var: variants[var]}}, cache, "mnist", 1):
        torch.set_num_threads(1)
        train(ts, data)  # warm-up
        t = time.perf_counter()
        train(ts, data)
        print(f"{{mkl_code_path()}} {{time.perf_counter() - t:.3f}}")
"""


def run(args: list[str], preload: str | None) -> tuple[str, float]:
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    if preload:
        env["LD_PRELOAD"] = preload
    else:
        env[mkl.OPT_OUT] = "0"  # bench_common would otherwise preload the shim
    code = CHILD.format(bench=str(REPO / "benchmarks"))
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True,
                         text=True, check=True).stdout.split()  # fmt: skip
    return out[-2], float(out[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    lib = mkl.build_shim(REPO / mkl.SHIM_DIR)
    print(f"# CPU vendor {mkl.cpu_vendor()}; shim {lib}")
    print("| job | generic path | MKL's own kernels | speed-up |\n|---|---:|---:|---:|")
    for exp, var in [("gemm", "-"), *JOBS]:
        best = {}
        for _ in range(args.repeat):
            for key, pre in (("plain", None), ("shim", str(lib))):
                path, value = run([exp, var], pre)
                if exp == "gemm":
                    best[key] = (path, max(best.get(key, (path, 0.0))[1], value))
                else:
                    best[key] = (path, min(best.get(key, (path, 1e9))[1], value))
        (pp, a), (ps, b) = best["plain"], best["shim"]
        if exp == "gemm":
            print(f"| GEMM peak, GFLOP/s (code path {pp} / {ps}) | {a:.0f} | {b:.0f} | "
                  f"{b / a:.2f}x |")  # fmt: skip
        else:
            print(f"| {exp}/{var}, s per epoch | {a:.2f} | {b:.2f} | {a / b:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
