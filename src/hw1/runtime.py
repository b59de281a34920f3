"""Process set-up of every compute job: thread count, floating-point mode, memory reuse.

Denormal numbers (magnitudes below 1.2e-38) take a slow microcode path on x86 CPUs. Adam's
moment updates produce them as training settles: measured here, a 784-256-256-10 MLP at
batch 32 slowed from 2.0 to 4.7 ms per step within one epoch, and the batch-32 job of the
full run took 390 s instead of ~150 s. Flushing them to zero costs nothing measurable in
accuracy (they are 1e-38 of the weights' scale) and keeps every step at full speed.

An analysis job keeps freed memory in the process (:func:`retain_freed_memory`): glibc's
malloc serves every block over 32 MiB with a fresh ``mmap`` and unmaps it on free, so an
analysis whose activations are that large (a CNN's first layer over 5,000 images: 125 MB)
faults in and zeroes every page of them again at every gradient. Measured here (1 thread, a
cnn4's generalization measures over 5,000 training images): 85.4 s wall, 38.8 s of it in the
kernel, against 45.0 s with freed memory kept (1.3 s in the kernel; the same values), peak
RSS 2.18 against 2.43 GB (``benchmarks/cpu-results/2026-12-03-malloc/``). Training jobs do
not: their minibatches and chunked evaluations stay under the threshold, and one epoch each
of cnn4, h1024, bs2048 and the random-label MLP took the same time either way (best of 3
interleaved, within noise) for ~190 MB more RSS.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
from collections.abc import Callable

import torch

from hw1.mkl import mkl_code_path, shim_preloaded

log = logging.getLogger("hw1.runtime")

# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
# free memory at the top of the heap kept, at most (mallopt takes an int)
RETAIN_BYTES = 2**31 - 1


@functools.cache
def _glibc_mallopt() -> Callable[[int, int], int] | None:
    """glibc's ``mallopt`` from the symbols already loaded in this process, or None on a C
    library without it (musl, macOS): no library search, no subprocess."""
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 -- glibc only: musl and macOS lack it
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt


def can_retain_freed_memory() -> bool:
    """Whether :func:`retain_freed_memory` can take effect here (glibc), without changing
    anything."""
    return _glibc_mallopt() is not None


def retain_freed_memory() -> bool:
    """Serve every allocation from the heap and keep freed memory for reuse (glibc only:
    ``M_MMAP_MAX`` 0, ``M_TRIM_THRESHOLD`` :data:`RETAIN_BYTES`), so large tensors freed and
    allocated again each step reuse their pages instead of faulting in new ones. Returns
    whether it took effect (False on a C library without glibc's ``mallopt``, e.g. macOS,
    where nothing changes); results do not depend on it."""
    mallopt = _glibc_mallopt()
    if mallopt is None:
        return False
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, RETAIN_BYTES))


def configure(threads: int, *, keep_freed_memory: bool = False) -> None:
    """``threads`` intra-op threads and denormals flushed to zero for this process; with
    ``keep_freed_memory`` (the analysis jobs), freed memory kept for reuse
    (:func:`retain_freed_memory`). Logs MKL's choice of kernels (:mod:`hw1.mkl`)."""
    torch.set_num_threads(max(1, int(threads)))
    torch.set_flush_denormal(True)
    if keep_freed_memory:
        retain_freed_memory()
    log.info(
        "MKL kernels: code path %s (%s)",
        mkl_code_path(),
        "the hw1.mkl shim preloaded" if shim_preloaded(os.environ) else "no shim",
    )
