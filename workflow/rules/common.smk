import functools
import os
import sys
import time
from pathlib import Path

RUN_START = time.time()  # the end-of-run summary's wall time starts here (the parse)

# This file's folder is <repo>/workflow/rules, whichever Snakefile includes it: the root
# one, workflow/Snakefile, or a user's Snakefile using this workflow as a module (whose
# main Snakefile lies elsewhere). A workflow fetched from a remote source (github(...)) has
# no local folder (refused below).
_HERE = workflow.current_basedir.get_path_or_uri(secret_free=True)
if "://" in _HERE:
    raise WorkflowError(
        f"this workflow was loaded from {_HERE}: use it from a local clone instead "
        "(module: snakefile: '<clone>/workflow/Snakefile'), since every rule takes the "
        "package files its job runs as code inputs, which must be local files"
    )
SRC = Path(_HERE).resolve().parents[1] / "src"
# True when a user's Snakefile uses this workflow with `module:` (its own config, its own
# targets and command line).
AS_MODULE = workflow.modifier.namespace is not None  # the main workflow's has none
# Use the package from this checkout at parse time. Jobs find it from their script's own
# location (each script puts <repo>/src first on sys.path), not through PYTHONPATH, which
# Snakemake removes in conda jobs.
sys.path.insert(0, str(SRC))
ENV = "../../envs/hw1.yaml"  # conda env of every rule (same pins as pyproject.toml)

from hw1.config import (  # noqa: E402
    ConfigError,
    check_duplicate_keys,
    deep_merge,
    expand_variants,
    runs_from,
    set_sizes as _set_sizes,
    typed_overrides,
    validate,
)
from hw1.schema import SCHEMA_PATH, load_schema  # noqa: E402
from hw1 import datasets  # noqa: E402
from hw1.catalogue import (  # noqa: E402
    analysis,
    configured as configured_figures,
    configured_analyses,
    figure,
)
from hw1.codedeps import code_files  # noqa: E402
from hw1.console import FINDINGS_FILE, failure_summary, success_summary  # noqa: E402
from snakemake_logger_plugin_hw1.plan import (  # noqa: E402
    DEFAULT_SECONDS,
    PlannedJob,
    benchmark_seconds,
    job_key,
    write_plan,
)
from hw1.mkl import preload_for_jobs as mkl_preload_for_jobs  # noqa: E402
from hw1.runs import RUN_FILES  # noqa: E402
from hw1.resources import (  # noqa: E402
    ANALYSIS_MEM_MB,
    ANALYSIS_RUNTIME_MIN,
    analysis_seconds,
    gpu_mem_mb,
    job_cost,
    job_threads,
)

SCHEMA = SCHEMA_PATH
# --config values with their real types (Snakemake reads nested ones as strings); a module's
# config is the user's to give (module: ... config:), not the command line's
if workflow.config_settings.overwrite_config and not AS_MODULE:
    _typed = typed_overrides(
        workflow.config_settings.overwrite_config, load_schema(SCHEMA)
    )
    config.update(deep_merge(config, _typed))
try:
    for _cf in (
        [] if AS_MODULE else workflow.overwrite_configfiles or workflow.configfiles
    ):
        check_duplicate_keys(_cf)
    validate(config, SCHEMA)
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None

VARIANTS = expand_variants(config)
EXPERIMENTS = config["experiments"]
# The image data sets some training job trains on (registry names, config order).
DATASETS = list(
    dict.fromkeys(
        s["dataset"]
        for v in VARIANTS.values()
        for s in v.values()
        if datasets.is_dataset(s["dataset"])
    )
)
# Figures and analyses of the configured experiments, in the homework's order
# (hw1.catalogue).
FIGURES = configured_figures(config)
ANALYSES = configured_analyses(config)


# "auto" is resolved by each job (cuda if torch sees one): torch is never imported at parse
# time. GPU jobs declare the gpu resource only when the device is cuda explicitly.
DEVICE = config["device"]

# OpenMP threads that spin while waiting steal the other job's core when two jobs share a
# small machine (measured: a 2-thread job 5-7x slower beside another process); waiting
# threads sleep instead. Jobs inherit this environment; an explicit setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# Intel MKL's own kernels on AMD CPUs, not its generic path (hw1.mkl: 2x faster dense
# layers measured on an AMD EPYC): the jobs preload a one-function shim built here once.
# HW1_MKL_SHIM=0 leaves MKL as it is.
mkl_preload_for_jobs(os.environ)  # built in .snakemake/hw1/ of the working directory


# Never run more job threads at once than this machine has cores: `--cores 8` on a 2-core
# laptop would otherwise start four 2-thread training jobs that fight for two cores.
if (
    workflow.local_exec
    and (workflow.global_resources["_cores"].value or 0) > os.cpu_count()
):
    logger.warning(
        f"--cores {workflow.global_resources['_cores'].value} exceeds the {os.cpu_count()} "
        f"cores of this machine; using {os.cpu_count()} so that jobs do not oversubscribe"
    )
    workflow.global_resources["_cores"] = os.cpu_count()


wildcard_constraints:
    experiment="|".join(VARIANTS),
    variant="[A-Za-z0-9_]+(-[A-Za-z0-9_]+)?",
    function="|".join(config["functions"]),
    dataset="|".join(DATASETS) or "no_dataset_configured",
    figure="|".join(FIGURES) or "no_figure_configured",
    analysis="|".join(ANALYSES) or "no_analysis_configured",


SCRIPTS = SRC.parent / "workflow" / "scripts"


def code(script, *modules):
    """The package source files a rule's job runs (its script's hw1 imports, transitively,
    and ``modules``): the rule's ``code`` input, so that an edit reruns exactly the jobs
    that run the edited file (hw1.codedeps)."""
    return code_files(*modules, scripts=[SCRIPTS / script])


def run_files(experiment, kind="metrics"):
    """One result file of every variant of an experiment."""
    return expand(
        "results/runs/{experiment}/{variant}/{kind}.parquet",
        experiment=experiment,
        variant=VARIANTS[experiment],
        kind=kind,
    )


def table_inputs(wildcards):
    """The files the table of a figure reads, as its catalogue entry names them, and the
    code its job runs."""
    fig = figure(wildcards.figure)
    files = {"code": code("table.py", fig.table_module)}
    for item in fig.reads:
        kind, _, name = item.partition(":")
        if kind in RUN_FILES:
            files[kind] = run_files(fig.experiment, kind)
        elif kind == "functions":
            files[kind] = expand(
                "results/data/fn_{function}.parquet",
                function=EXPERIMENTS[fig.experiment]["functions"],
            )
        else:  # analysis:<name> (hw1.catalogue.Figure checks the kinds)
            files[kind] = f"results/analysis/{name}.parquet"
    return files


def table_options(wildcards):
    """The experiment settings a figure's table builder gets (its catalogue options)."""
    fig = figure(wildcards.figure)
    return {k: EXPERIMENTS[fig.experiment][k] for k in fig.options}


def analysis_runs(name):
    """The experiments whose runs analysis ``name`` reads (its own, or its ``runs_from``)."""
    a = analysis(name)
    if a.runs == "runs_from":
        return runs_from(EXPERIMENTS[a.experiment])
    return [a.experiment]


def analysis_inputs(wildcards):
    """The files analysis ``wildcards.analysis`` reads, as its registry entry names them (run
    files of every variant of its runs, and what they were trained on), or, where it is
    split per experiment, its parts; and the code its job runs."""
    a = analysis(wildcards.analysis)
    if a.gather:
        return {
            "code": code("analysis.py", a.gather_module),
            "parts": expand(
                "results/analysis/{analysis}/{experiment}.parquet",
                analysis=a.name,
                experiment=analysis_runs(a.name),
            ),
        }
    return run_inputs(a, analysis_runs(a.name))


def analysis_part_inputs(wildcards):
    """The files of one part of a split analysis: the runs of experiment
    ``wildcards.experiment`` only."""
    a = analysis(wildcards.analysis)
    if not a.gather or wildcards.experiment not in analysis_runs(a.name):
        raise WorkflowError(
            f"analysis {a.name!r} has no part {wildcards.experiment!r}; its parts: "
            f"{analysis_runs(a.name) if a.gather else 'none (it runs as one job)'}"
        )
    return run_inputs(a, [wildcards.experiment])


def run_inputs(a, experiments):
    """What analysis entry ``a`` reads of the runs of ``experiments``, and its code."""
    files = {"code": code("analysis.py", a.job_module)}
    for runs in experiments:
        for kind in a.reads:
            if kind in RUN_FILES:
                files.setdefault(kind, []).extend(run_files(runs, kind))
        if "data" in a.reads:
            for spec in VARIANTS[runs].values():
                for kind, path in data_inputs(spec).items():
                    files.setdefault(kind, [])
                    if path not in files[kind]:
                        files[kind].append(path)
    return files


def analysis_options(wildcards):
    """What analysis ``wildcards.analysis`` gets as params: the settings its registry entry
    names from its experiment's config, the device, and the image-data sizes where its runs
    trained on an image set."""
    a = analysis(wildcards.analysis)
    options = {k: EXPERIMENTS[a.experiment][k] for k in a.options}
    options["device"] = DEVICE
    if any(
        datasets.is_dataset(s["dataset"])
        for runs in analysis_runs(a.name)
        for s in VARIANTS[runs].values()
    ):
        options["data_cfg"] = DATA_SIZES
    return options


def train_spec(wildcards):
    try:
        return VARIANTS[wildcards.experiment][wildcards.variant]
    except KeyError:
        raise WorkflowError(
            f"no variant {wildcards.variant!r} in experiment {wildcards.experiment!r}; "
            f"configured: {sorted(VARIANTS.get(wildcards.experiment, {}))}"
        ) from None


def data_inputs(spec):
    """The data files a job on ``spec`` reads: the prepared image set (and its random labels
    when the spec asks for them), or the 1-D function's grid."""
    ds = spec["dataset"]
    if datasets.is_dataset(ds):
        files = {"data": datasets.cache_path(ds)}
        if spec["labels"] == "random":
            files["random_labels"] = datasets.random_labels_path(ds)
        return files
    return {"function": f"results/data/fn_{ds}.parquet"}


def train_inputs(wildcards):
    return data_inputs(train_spec(wildcards))


def experiment_data(experiment):
    """The prepared image sets the variants of ``experiment`` were trained on."""
    sets = dict.fromkeys(s["dataset"] for s in VARIANTS[experiment].values())
    return [datasets.cache_path(d) for d in sets if datasets.is_dataset(d)]


# What the image-data jobs read of the data config: how much of each set (where the files
# come from changes nothing downstream: they are verified by checksum).
DATA_SIZES = {k: config["data"][k] for k in ("train_size", "test_size")}


def train_data_sizes(wildcards):
    """The data settings a training job depends on: the image set sizes, or none (the
    function fits read only their function's grid file)."""
    return DATA_SIZES if datasets.is_dataset(train_spec(wildcards)["dataset"]) else {}


def train_threads(wildcards):
    """Threads of one training job: 1 for tiny networks, else config `threads`."""
    return job_threads(train_spec(wildcards), config["threads"])


def set_sizes(spec):
    """Training and test set sizes of a training spec's data set (hw1.config.set_sizes)."""
    return _set_sizes(config, spec["dataset"])


def train_priority(wildcards):
    """Longest chains first: the job's estimated cost plus that of the longest analysis
    waiting for it (critical-path list scheduling: the small runs an hour-long analysis
    needs do not start last, with that analysis after them as the run's tail)."""
    spec = train_spec(wildcards)
    return int(
        job_cost(spec, *set_sizes(spec)) + downstream_seconds(wildcards.experiment)
    )


def analysis_estimate(name, experiments):
    """Expected seconds of analysis ``name`` over the runs of ``experiments``: its cost
    (hw1.resources.analysis_seconds), or the default of an analysis job."""
    a = analysis(name)
    runs = [(s, *set_sizes(s)) for e in experiments for s in VARIANTS[e].values()]
    est = analysis_seconds(name, EXPERIMENTS[a.experiment], runs)
    return DEFAULT_SECONDS["analysis"] if est is None else est


@functools.cache
def downstream_seconds(experiment):
    """Expected seconds of the longest analysis job that reads the runs of ``experiment``
    (the part of that experiment where the analysis is split per experiment); 0 if none.
    """
    waits = [
        analysis_estimate(
            name, [experiment] if analysis(name).gather else analysis_runs(name)
        )
        for name in ANALYSES
        if experiment in analysis_runs(name)
    ]
    return max(waits, default=0.0)


# Analyses start as soon as their runs are trained, before any training job still waiting
# (whose priority is its cost in seconds, far below this): they then run beside the rest of
# the training instead of after it, where they would be the run's tail.
ANALYSIS_PRIORITY = 1_000_000


# GPU memory each CUDA job declares (resource gpu_mem_mb): profiles/gpu caps the sum at what
# the card holds, so that as many jobs share the GPU as fit. Analysis jobs hold a few
# models and data chunks (measured peaks well under 2 GB).
ANALYSIS_GPU_MEM_MB = (config["gpu_mem_mb"] or 4000) if DEVICE == "cuda" else 0


def train_gpu_mem_mb(wildcards):
    """GPU memory of one training job (MB): config gpu_mem_mb, or estimated from the model
    and data (hw1.resources.gpu_mem_mb); 0 off CUDA."""
    if DEVICE != "cuda":
        return 0
    spec = train_spec(wildcards)
    return config["gpu_mem_mb"] or gpu_mem_mb(spec, *set_sizes(spec))


def train_mem_mb(wildcards):
    """Rough peak memory of one training job (MB), for cluster submissions."""
    spec = train_spec(wildcards)
    if not datasets.is_dataset(spec["dataset"]):
        return 1500
    return 3000 + 500 * len(spec["seeds"])


def figure_style(figure):
    return config["figures"].get(figure, {})


def all_targets():
    """Every figure (PNG and PDF) with its caption, and the homework report."""
    return [
        *expand("results/figures/{figure}.{ext}", figure=FIGURES, ext=["png", "pdf"]),
        *expand("results/captions/{figure}.rst", figure=FIGURES),
        "results/report.md",
        "results/homework.html",
    ]


def unknown_target_error(wildcards):
    """Stop the DAG at a target that is neither a rule nor a file, naming the closest figures or
    rules and the valid ones (the input function of rule ``unknown_target``)."""
    from difflib import get_close_matches

    name = wildcards.name
    rules = sorted(r.name for r in workflow.rules if r.name != "unknown_target")
    close = get_close_matches(
        name, list(dict.fromkeys([*FIGURES, *rules])), n=3, cutoff=0.6
    )
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise WorkflowError(
        f"no figure or rule named {name!r}{hint}\n"
        "figures (each also a target by its name): " + ", ".join(FIGURES) + "\n"
        "or a file such as results/figures/<figure>.png, or a rule name, e.g. all"
    )


def planned_job(job):
    """A job's expected seconds and threads for the progress estimate (hw1.console): an
    earlier run's benchmark file where there is one, else the workflow's own estimate (the
    training or analysis cost that orders the jobs, or a per-kind default)."""
    name = job.rule.name
    wc = dict(job.wildcards.items())
    bench = str(job.benchmark) if job.benchmark else None
    measured = benchmark_seconds(bench) if bench and os.path.exists(bench) else None
    if measured is not None:
        seconds = measured
    elif name == "train":
        spec = VARIANTS[wc["experiment"]][wc["variant"]]
        seconds = job_cost(spec, *set_sizes(spec))
    elif name == "analysis" and analysis(wc["analysis"]).gather:
        seconds = DEFAULT_SECONDS["other"]  # joins its parts
    elif name == "analysis":
        seconds = analysis_estimate(wc["analysis"], analysis_runs(wc["analysis"]))
    elif name == "analysis_part":
        seconds = analysis_estimate(wc["analysis"], [wc["experiment"]])
    elif name == "prepare":
        seconds = DEFAULT_SECONDS["prepare"]
    else:
        seconds = 0.0 if name == "all" or job.is_local else DEFAULT_SECONDS["other"]
    return PlannedJob(
        job_key(name, wc), float(seconds), int(job.threads), measured is not None
    )


RUN_COUNTS = {"ran": 0, "all": 0}


def start_run():
    """At the start of a real run: the plan for the progress lines, and the counts the
    summary states."""
    jobs = list(workflow.dag.needrun_jobs())
    RUN_COUNTS.update(ran=len(jobs), all=len(workflow.dag.jobs))
    write_plan(
        [planned_job(j) for j in jobs], workflow.global_resources["_cores"].value or 1
    )


def first_log(log):
    """The run's Snakemake log file (the hooks get a list of them)."""
    logs = [log] if isinstance(log, str) else list(log or [])
    return str(logs[0]) if logs else None


def end_of_run(log):
    """The account of a successful run (hw1.console.success_summary)."""
    return success_summary(
        ran=RUN_COUNTS["ran"],
        up_to_date=RUN_COUNTS["all"] - RUN_COUNTS["ran"],
        seconds=time.time() - RUN_START,
        figures=FIGURES,
        log=first_log(log),
    )
