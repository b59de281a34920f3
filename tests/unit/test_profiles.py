"""Each profile gives exactly its own settings plus what genuinely applies everywhere (the
workflow profile profiles/default, which Snakemake loads under every --profile)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

PROBE = """
import json, sys
from snakemake.cli import parse_args
_, a = parse_args(sys.argv[1:] + ["-n"])
print(json.dumps({
    "latency_wait": a.latency_wait, "printshellcmds": a.printshellcmds,
    "executor": a.executor, "config": a.config,
    "resources": {k: v.value for k, v in (a.resources or {}).items()},
    "show_failed_logs": a.show_failed_logs, "rerun_incomplete": a.rerun_incomplete,
    "rerun_triggers": sorted(t.name for t in a.rerun_triggers),
    "logger": list(a.logger or []),
}))
"""


def settings(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=REPO, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


EVERYWHERE = {
    "show_failed_logs": True,
    "rerun_incomplete": True,
    "rerun_triggers": ["CODE", "INPUT", "MTIME", "PARAMS", "SOFTWARE_ENV"],
    "printshellcmds": False,  # no shell rules: it only printed "Shell command: None"
    "logger": ["hw1"],  # one line per job, progress with the time left (the hw1 logger)
}


@pytest.mark.parametrize(
    "profile, own",
    [
        (None, {"latency_wait": 5, "executor": None, "config": None, "resources": {}}),
        ("profiles/slurm", {"latency_wait": 10, "executor": "slurm", "config": None}),
        (
            "profiles/gpu",
            {"latency_wait": 5, "config": ["device=cuda"], "resources": {"gpu_mem_mb": 70000}},
        ),
    ],
)
def test_profile_settings(profile, own):
    got = settings(*(["--profile", profile] if profile else []))
    for key, value in {**EVERYWHERE, **own}.items():
        assert got[key] == value, (profile, key, got[key])
