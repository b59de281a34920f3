"""hw1.runtime: an analysis job keeps freed memory for reuse, so a step that allocates and
frees large tensors stops faulting in fresh pages once the heap holds them; a training job's
set-up leaves malloc alone, and there every step faults in every page again."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hw1.runtime import can_retain_freed_memory

N = 30_000_000  # floats: 120 MB per tensor, above glibc's 32 MiB mmap threshold
# twelve steps that each allocate two such tensors and free them; the minor page faults of each
SCRIPT = f"""
import json, resource, sys, torch
from hw1.runtime import configure
torch.set_num_threads(1)
configure(1, keep_freed_memory=sys.argv[1] == "analysis")
faults = []
for _ in range(12):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    a = torch.ones({N})
    b = a * 2.0
    del a
    float(b.sum())
    del b
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(json.dumps(faults))
"""


def _faults(mode: str) -> list[int]:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_analysis_job_reuses_freed_memory():
    if not can_retain_freed_memory():  # asked without changing this process's malloc
        pytest.skip("not glibc: mallopt unavailable, nothing to test")
    pages = N * 4 // 4096  # one tensor's 4 KiB pages
    training, analysis = _faults("training"), _faults("analysis")
    # the measurement sees the faults when they happen: every step faults both tensors in
    assert min(training[-6:]) > pages
    # kept, the last steps reuse the heap's pages: the first ones grow it, and glibc may grow
    # it once more late (seen in CI: one tensor's pages at the 6th of 8 steps), so the last
    # six steps together fault in less than two tensors, where unkept they fault in twelve
    assert sum(analysis[-6:]) < 2 * pages
    assert sorted(analysis[-6:])[3] < pages // 50  # and most of them nothing


def test_analysis_job_configures_memory_reuse(monkeypatch):
    from hw1.jobs import analysis as job

    calls = []
    monkeypatch.setattr(job, "configure", lambda threads, **kw: calls.append((threads, kw)))
    with pytest.raises(ValueError, match="no part files"):  # set-up runs before the work
        job.analysis_job("flatness", {"parts": []}, "unused.parquet", {}, threads=2)
    assert calls == [(2, {"keep_freed_memory": True})]
