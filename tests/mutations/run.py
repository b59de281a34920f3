"""Mutation checks: break the code a test guards on purpose and watch the test fail.

    .venv/bin/python tests/mutations/run.py tests/mutations/*.json

Each JSON file lists mutations ``{name, file, old, new, tests}``: ``old`` (an exact piece of
``file``) is replaced by ``new``, the ``tests`` run, and the file is restored. A mutation the
tests do not catch is printed ``MISSED`` and the exit status is 1. A mutation whose ``old``
text is no longer in its file is an error: the list follows the code it breaks.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def check(mutation: dict) -> bool:
    """Apply one mutation, run its tests, restore the file; True when the tests failed."""
    path = ROOT / mutation["file"]
    original = path.read_text()
    if mutation["old"] not in original:
        raise SystemExit(f"{mutation['name']}: its text is no longer in {mutation['file']}")
    path.write_text(original.replace(mutation["old"], mutation["new"], 1))
    try:
        cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]
        r = subprocess.run([*cmd, *mutation["tests"]], cwd=ROOT, capture_output=True, text=True)
    finally:
        path.write_text(original)
    lines = r.stdout.strip().splitlines()
    caught = r.returncode != 0
    print(f"{'CAUGHT' if caught else 'MISSED'} | {mutation['name']} | {lines[-1] if lines else ''}")
    return caught


def main() -> None:
    results = [check(m) for f in sys.argv[1:] for m in json.loads(Path(f).read_text())]
    print(f"{sum(results)} of {len(results)} mutations caught")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
