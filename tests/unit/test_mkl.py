"""hw1.mkl: on an AMD CPU the preloaded shim gives MKL its own kernels instead of its generic
path, with the same products up to float32 round-off; the workflow's LD_PRELOAD value keeps
what was there, and nothing changes on other CPUs, without a compiler, or when opted out."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest
import torch

from hw1 import mkl

X86_LINUX = platform.system() == "Linux" and platform.machine() in ("x86_64", "AMD64")

# MKL's choice of kernels, and matrix products against float64: a GEMM and a batched one
SCRIPT = """
import json, torch
from hw1.mkl import mkl_code_path
torch.manual_seed(0)
torch.set_num_threads(1)
a, b = torch.randn(300, 500), torch.randn(500, 200)
p, q = torch.randn(3, 128, 784), torch.randn(3, 784, 256)
out = {"path": mkl_code_path(), "mm": (a @ b).tolist(), "bmm": torch.bmm(p, q).tolist()}
ref = {"mm": (a.double() @ b.double()), "bmm": torch.bmm(p.double(), q.double())}
out["err"] = {k: float(((torch.tensor(out[k]).double() - r).abs().max() / r.abs().max()))
              for k, r in ref.items()}
print(json.dumps(out))
"""


def _run(preload: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    if preload:
        env["LD_PRELOAD"] = preload
    res = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(res.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(
    not (mkl.shim_wanted({}) and mkl.compiler()),
    reason="needs an AMD x86-64 Linux CPU and a C compiler (the shim changes nothing elsewhere)",
)
def test_the_shim_gives_mkl_its_own_kernels_with_the_same_products(tmp_path):
    lib = mkl.build_shim(tmp_path)
    assert lib is not None and lib.exists()
    plain, shimmed = _run(None), _run(str(lib))
    assert plain["path"] is not None, "torch's library carries no MKL to test"
    assert shimmed["path"] != plain["path"], (plain["path"], shimmed["path"])
    for k in ("mm", "bmm"):
        # each path within float32 round-off of float64, and of the other
        assert plain["err"][k] < 1e-5 and shimmed["err"][k] < 1e-5, (
            k,
            plain["err"],
            shimmed["err"],
        )
        a, b = torch.tensor(plain[k]), torch.tensor(shimmed[k])
        assert float((a - b).abs().max() / a.abs().max()) < 1e-5, k


@pytest.mark.skipif(not X86_LINUX, reason="the shim is for x86-64 Linux")
def test_preload_value_adds_the_shim_once_and_keeps_what_was_there(tmp_path):
    env = {"LD_PRELOAD": "/opt/other.so"}
    value = mkl.preload_value(env, tmp_path, vendor="AuthenticAMD")
    lib = mkl.build_shim(tmp_path)
    if lib is None:
        pytest.skip("no C compiler")
    assert value == f"/opt/other.so {lib}"
    assert mkl.preload_value({"LD_PRELOAD": value}, tmp_path, vendor="AuthenticAMD") == value
    assert mkl.preload_value({}, tmp_path, vendor="AuthenticAMD") == str(lib)
    # other CPUs, the opt-out, no compiler: nothing changes
    assert mkl.preload_value(env, tmp_path, vendor="GenuineIntel") is None
    assert mkl.preload_value({**env, "HW1_MKL_SHIM": "0"}, tmp_path, vendor="AuthenticAMD") is None
    assert mkl.shim_preloaded({"LD_PRELOAD": value}) and not mkl.shim_preloaded(env)


def test_without_a_compiler_nothing_is_built_and_the_warning_says_why(tmp_path, caplog):
    none_dir = tmp_path / "elsewhere"
    assert mkl.build_shim(none_dir, {"CC": "no-such-compiler-hw1"}) is None
    assert not none_dir.exists()
    assert "no C compiler (no-such-compiler-hw1)" in caplog.text
    assert "HW1_MKL_SHIM=0" in caplog.text  # how to silence it


def test_cpu_vendor_reads_the_vendor_line(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\n")
    assert mkl.cpu_vendor(info) == "AuthenticAMD"
    info.write_text("processor\t: 0\nmodel name\t: something\n")
    assert mkl.cpu_vendor(info) is None
    assert mkl.cpu_vendor(tmp_path / "missing") is None


def test_preload_for_jobs_sets_the_workflows_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the shim goes to .snakemake/hw1/ of the working directory
    env: dict[str, str] = {"PATH": os.environ.get("PATH", "")}
    value = mkl.preload_for_jobs(env)
    if value is None:
        assert "LD_PRELOAD" not in env
    else:
        assert env["LD_PRELOAD"] == value
        assert value.startswith(str(tmp_path / ".snakemake" / "hw1" / "mkl_intel_cpu-"))
