"""Greedy two-core list scheduling of `make run`'s training and analysis jobs, as Snakemake
schedules them (the ready job of highest priority first, analyses before any waiting
training job), with the priorities before (each training job's cost) and after 2026-12-04
(plus the estimate of the longest analysis waiting for its runs, hw1.resources).

Job seconds: the 51:14 run's (benchmarks/cpu-results/2026-12-03-fullrun/jobs.txt; the jobs
its table aggregates at the per-experiment mean), the CNN training jobs and
generalization_measures/cnn_depth at the README's projections since (CNN step and
evaluation pool; retain_freed_memory). Tables, figures and the report (~4 s each) are left
out. A model of the run's order, not a measurement of it.

    .venv/bin/python benchmarks/cpu-results/2026-12-04-analysis-cost/schedule_sim.py
"""

import heapq
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "src"))

from hw1.config import expand_variants, runs_from, set_sizes, validate  # noqa: E402
from hw1.resources import analysis_seconds, job_cost  # noqa: E402

SECONDS = {  # per training job, the 51:14 run (CNN training: projected)
    "random_labels/fashion_mnist-true_labels": 454, "random_labels/fashion_mnist-random": 450,
    "random_labels/mnist-random": 281, "random_labels/mnist-true_labels": 275,
    "cnn_depth/mnist-cnn4": 190, "cnn_depth/fashion_mnist-cnn4": 178,
    "params_vs_generalization/mnist-h1024": 168,
    "params_vs_generalization/fashion_mnist-h1024": 160,
    "cnn_depth/fashion_mnist-cnn2": 108, "batch_size/fashion_mnist-bs32": 136,
    "cnn_depth/mnist-cnn2": 103, "batch_size/mnist-bs32": 130,
    "cnn_depth/fashion_mnist-cnn1": 80, "batch_size/fashion_mnist-bs128": 97,
    "batch_size/mnist-bs128": 91, "batch_size/fashion_mnist-bs512": 91,
    "batch_size/fashion_mnist-bs8192": 90, "batch_size/fashion_mnist-bs2048": 89,
    "params_vs_generalization/fashion_mnist-h512": 89, "cnn_depth/mnist-cnn1": 60,
    "batch_size/mnist-bs8192": 85, "batch_size/mnist-bs2048": 83,
    "params_vs_generalization/mnist-h512": 82, "batch_size/mnist-bs512": 81,
    "params_vs_generalization/fashion_mnist-h256": 46, "params_vs_generalization/mnist-h256": 45,
}  # fmt: skip
PER_EXPERIMENT = {"functions": 6, "grad_norm": 3.5, "interpolation": 25, "minimal_ratio": 25,
                  "pca_trajectories": 40, "params_vs_generalization": 14.5}  # fmt: skip
ANALYSES = {  # job: (seconds, analysis, experiments read, settings' experiment)
    "minimal_ratio": (36, "minimal_ratio", ["minimal_ratio"], "minimal_ratio"),
    "error_surface": (29, "error_surface", ["pca_trajectories"], "error_surface"),
    "interpolation": (72, "interpolation", ["interpolation"], "interpolation"),
    "flatness": (177, "flatness", ["batch_size"], "batch_size"),
}
START = 20.0  # data preparation


def simulate(jobs):
    t, done, running, free, order, waiting = START, set(), [], 2, [], dict(jobs)
    while waiting or running:
        ready = sorted((k for k, j in waiting.items() if all(d in done for d in j["deps"])),
                       key=lambda k: -waiting[k]["prio"])  # fmt: skip
        while free and ready:
            k = ready.pop(0)
            heapq.heappush(running, (t + waiting.pop(k)["s"], k))
            free -= 1
            order.append((t, k))
        t, k = heapq.heappop(running)
        done.add(k)
        free += 1
    return t, order


def main():
    cfg = validate(yaml.safe_load((REPO / "config.yaml").read_text()),
                   REPO / "workflow/schemas/config.schema.yaml")  # fmt: skip
    variants, exps = expand_variants(cfg), cfg["experiments"]
    analyses = dict(ANALYSES)
    measured_gm = {
        "cnn_depth": 400,  # projected (773 s before retain_freed_memory)
        "pca_trajectories": 5,
        "random_labels": 207,
        "params_vs_generalization": 84,
        "interpolation": 19,
        "batch_size": 79,
    }
    for e in runs_from(exps["generalization_measures"]):
        analyses[f"gm/{e}"] = (measured_gm[e], "generalization_measures", [e],
                               "generalization_measures")  # fmt: skip

    def estimate(a):
        _, name, reads, settings = analyses[a]
        specs = [s for e in reads for s in variants[e].values()]
        runs = [(s, *set_sizes(cfg, s["dataset"])) for s in specs]
        est = analysis_seconds(name, exps[settings], runs)
        return 60.0 if est is None else est

    est = {a: estimate(a) for a in analyses}
    for new in (False, True):
        jobs = {}
        for e, vs in variants.items():
            wait = max((est[a] for a, v in analyses.items() if e in v[2]), default=0.0)
            for v, spec in vs.items():
                cost = job_cost(spec, *set_sizes(cfg, spec["dataset"]))
                secs = SECONDS.get(f"{e}/{v}", PER_EXPERIMENT.get(e, 10))
                prio = cost + (wait if new else 0)
                jobs[f"{e}/{v}"] = {"s": secs, "prio": prio, "deps": [], "e": e}
        for a, (secs, _, reads, _) in analyses.items():
            deps = [k for k, j in jobs.items() if j.get("e") in reads]
            jobs[a] = {"s": secs, "prio": 1e6, "deps": deps}
        end, order = simulate(jobs)
        busy = sum(j["s"] for j in jobs.values())
        label = "cost + longest analysis waiting" if new else "cost alone (before)"
        print(
            f"priorities {label}: span {end:.0f} s, {busy:.0f} job-s, cores busy "
            f"{busy / 2 / (end - START):.1%}; last jobs:"
        )
        for t0, k in order[-3:]:
            print(f"    start {t0:5.0f} s  {k} ({jobs[k]['s']:.0f} s)")


if __name__ == "__main__":
    main()
