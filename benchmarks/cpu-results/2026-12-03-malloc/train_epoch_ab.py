"""A/B: one epoch of a job, with or without hw1.runtime.retain_freed_memory (fresh process)."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "benchmarks"))
if len(sys.argv) > 3 and sys.argv[1] == "--child":
    mode, job = sys.argv[2], sys.argv[3]
    if mode == "on":
        from hw1.runtime import retain_freed_memory

        assert retain_freed_memory()
    import resource

    import threads as T

    t = T.epoch_seconds(job, str(REPO / "results" / "data" / "mnist.pt"), 1, 2)
    r = resource.getrusage(resource.RUSAGE_SELF)
    print(f"{t:.2f} user {r.ru_utime:.1f} sys {r.ru_stime:.1f} maxrss {r.ru_maxrss // 1024}")
    sys.exit()
for job in sys.argv[1:]:
    for _ in range(3):
        for mode in ("off", "on"):
            out = subprocess.run(
                [sys.executable, __file__, "--child", mode, job], capture_output=True, text=True
            )
            print(job, mode, out.stdout.strip() or out.stderr[-500:], flush=True)
