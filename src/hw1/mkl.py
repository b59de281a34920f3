"""Intel MKL's own kernels on AMD CPUs: a one-function shim preloaded into every job.

torch's x86-64 wheels do their dense matrix products (every ``Linear`` layer, every ``bmm``
of a stacked ensemble) with Intel's MKL, which picks its kernels after asking
``mkl_serv_intel_cpu_true()`` whether the CPU is Intel's; on an AMD CPU the answer is no,
and MKL runs a generic path whatever the CPU's instruction set. A shared library that
defines that one function to answer yes, preloaded (``LD_PRELOAD``), lets MKL choose its
kernels by the instruction set, as on an Intel CPU with the same instructions: a known
workaround (D. de Kok, "Intel MKL on AMD Zen", 2020, https://danieldk.eu/Intel-MKL-on-AMD-Zen;
Sigma2's HPC documentation, "Using MKL efficiently",
https://documentation.sigma2.no/jobs/mkl.html). Measured on this project's VM on an AMD
EPYC (Zen 5, AVX-512), 1 thread (``mkl_ab.txt``): GEMM peak 106 → 247 GFLOP/s; one epoch
of the random-label MLP 7.95 → 3.90 s, width 1024 14.39 → 7.05 s, batch 32 5.38 → 2.84 s,
batch 2048 4.56 → 2.21 s; the CNNs unchanged (oneDNN's convolutions choose by instruction
set alone) (``benchmarks/cpu-results/2026-12-04-mkl-amd/``). Products stay within float32
round-off of the generic path's (a test), as between two CPUs.

The workflow builds the shim with the C compiler (``$CC``, else ``cc``) into
``.snakemake/hw1/`` of its working directory on AMD x86-64 Linux and puts it in its jobs'
``LD_PRELOAD``; the Makefile does the same for the tests and benchmarks
(``python -m hw1.mkl`` prints the value). Without a compiler, on other CPUs or systems, or
with ``HW1_MKL_SHIM=0``, nothing changes. Torch-free: the Snakefile imports it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Mapping, MutableMapping
from pathlib import Path

SHIM_SOURCE = "int mkl_serv_intel_cpu_true(void) { return 1; }\n"
# where the workflow and the Makefile build it (relative to the working directory)
SHIM_DIR = Path(".snakemake") / "hw1"
OPT_OUT = "HW1_MKL_SHIM"
SHIM_NAME = "mkl_intel_cpu-"  # its file name's start: mkl_intel_cpu-<source hash>.so

log = logging.getLogger("hw1.mkl")


def cpu_vendor(cpuinfo: str | Path = "/proc/cpuinfo") -> str | None:
    """The CPU's vendor string (``GenuineIntel``, ``AuthenticAMD``) from ``cpuinfo``; None
    where there is no such file (not Linux) or no ``vendor_id`` line."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "vendor_id":
            return value.strip()
    return None


def shim_wanted(environ: Mapping[str, str], vendor: str | None = None) -> bool:
    """Whether this machine's MKL needs the shim: x86-64 Linux on an AMD CPU, unless
    ``HW1_MKL_SHIM=0``."""
    if environ.get(OPT_OUT, "1") == "0":
        return False
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        return False
    return (vendor if vendor is not None else cpu_vendor()) == "AuthenticAMD"


def compiler(environ: Mapping[str, str] = os.environ) -> str | None:
    """The C compiler that builds the shim (``$CC``, else ``cc``), or None where there is none."""
    cc = environ.get("CC") or "cc"
    return cc if shutil.which(cc) is not None else None


def build_shim(directory: str | Path, environ: Mapping[str, str] = os.environ) -> Path | None:
    """The shim's shared library in ``directory``, compiled there once (named by its
    source's hash); None, with a warning that says why and what to do, when no C compiler is
    found or it fails."""
    directory = Path(directory).resolve()
    tag = hashlib.sha256(SHIM_SOURCE.encode()).hexdigest()[:12]
    lib = directory / f"{SHIM_NAME}{tag}.so"
    if lib.exists():
        return lib
    cc = compiler(environ)
    fix = f"MKL keeps its generic path (dense layers ~2x slower); {OPT_OUT}=0 silences this"
    if cc is None:
        log.warning("hw1.mkl: no C compiler (%s) to build the MKL shim: install one, or "
                    "set CC; %s", environ.get("CC") or "cc", fix)  # fmt: skip
        return None
    directory.mkdir(parents=True, exist_ok=True)
    src = directory / f"{SHIM_NAME}{tag}.c"
    src.write_text(SHIM_SOURCE)
    tmp = directory / f".{lib.name}.{os.getpid()}"
    res = subprocess.run(
        [cc, "-shared", "-fPIC", "-O2", "-o", str(tmp), str(src)], capture_output=True, text=True
    )
    if res.returncode != 0 or not tmp.exists():
        tmp.unlink(missing_ok=True)
        log.warning("hw1.mkl: %s could not build %s (exit %d: %s); %s", cc, src,
                    res.returncode, res.stderr.strip()[-300:], fix)  # fmt: skip
        return None
    tmp.replace(lib)  # atomic: concurrent builders leave one complete library
    return lib


def _entries(value: str) -> list[str]:
    """The libraries of an ``LD_PRELOAD`` value (separated by spaces or colons)."""
    return value.replace(":", " ").split()


def shim_preloaded(environ: Mapping[str, str]) -> bool:
    """Whether ``environ``'s ``LD_PRELOAD`` holds the shim."""
    return any(Path(e).name.startswith(SHIM_NAME) for e in _entries(environ.get("LD_PRELOAD", "")))


def preload_value(
    environ: Mapping[str, str], directory: str | Path = SHIM_DIR, vendor: str | None = None
) -> str | None:
    """``LD_PRELOAD`` with the shim added (its existing entries kept), or None where the shim
    is not wanted or cannot be built."""
    if not shim_wanted(environ, vendor):
        return None
    lib = build_shim(directory, environ)
    if lib is None:
        return None
    entries = _entries(environ.get("LD_PRELOAD", ""))
    if str(lib) not in entries:
        entries.append(str(lib))
    return " ".join(entries)


def preload_for_jobs(environ: MutableMapping[str, str]) -> str | None:
    """Put the shim in ``environ``'s ``LD_PRELOAD`` (the workflow's, which its jobs inherit)
    where it is wanted and can be built (:func:`preload_value`); the value set, or None."""
    value = preload_value(environ)
    if value is not None:
        environ["LD_PRELOAD"] = value
    return value


def rerun_with_shim(directory: str | Path = SHIM_DIR) -> None:
    """Re-execute this Python program (``sys.argv``) with the shim in ``LD_PRELOAD`` where it
    is wanted and not there yet, so that a benchmark times the kernels the jobs use; call it
    before printing anything. Returns only where nothing needs to change."""
    value = preload_value(os.environ, directory)
    if value is not None and value != os.environ.get("LD_PRELOAD"):
        env = {**os.environ, "LD_PRELOAD": value}
        os.execve(sys.executable, [sys.executable, *sys.argv], env)


def mkl_code_path() -> int | None:
    """MKL's choice of kernels in this process (``mkl_serv_cpu_detect()``, an internal MKL
    number: 0 its generic path; on the AMD EPYC above 7 with the shim), or None where
    torch's library does not carry MKL. Imports torch: for jobs, not the Snakefile."""
    import ctypes

    import torch

    name = {"Linux": "libtorch_cpu.so", "Darwin": "libtorch_cpu.dylib"}.get(platform.system())
    if name is None:
        return None
    try:
        lib = ctypes.CDLL(str(Path(torch.__file__).parent / "lib" / name))
        return int(lib.mkl_serv_cpu_detect())
    except (OSError, AttributeError):
        return None


if __name__ == "__main__":  # the LD_PRELOAD value for the Makefile (empty: leave it)
    value = preload_value(os.environ)
    sys.stdout.write(value if value is not None else os.environ.get("LD_PRELOAD", ""))
