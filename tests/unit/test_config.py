"""Bad configuration values are rejected before any job starts, naming the key."""

from __future__ import annotations

import copy

import pytest
import yaml

from hw1.config import (
    ConfigError,
    by_dataset,
    check_duplicate_keys,
    expand_variants,
    set_sizes,
    validate,
)
from tests.conftest import REPO

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


def load(name: str) -> dict:
    with open(REPO / name) as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="module")
def smoke() -> dict:
    return load("tests/config/smoke.yaml")


@pytest.mark.parametrize("path", ["config.yaml", "tests/config/smoke.yaml"])
def test_shipped_configs_are_valid(path):
    cfg = load(path)
    validate(cfg, SCHEMA)
    check_duplicate_keys(REPO / path)
    assert all(expand_variants(cfg).values())


def _set(path: str, value):
    def mutate(cfg):
        *head, last = path.split(".")
        node = cfg
        for k in head:
            node = node[k]
        node[last] = value

    return mutate


def _del(path: str):
    def mutate(cfg):
        *head, last = path.split(".")
        node = cfg
        for k in head:
            node = node[k]
        del node[last]

    return mutate


T = "experiments.cnn_depth.train"
V = "experiments.cnn_depth.variants"
F = "experiments.functions.train"
BAD = [
    ("lr zero", _set(f"{T}.lr", 0), f"{T}.lr", "less than or equal to the minimum"),
    ("lr negative", _set(f"{T}.lr", -0.1), f"{T}.lr", "minimum"),
    ("lr string", _set(f"{T}.lr", "fast"), f"{T}.lr", "not of type"),
    ("batch 0", _set(f"{T}.batch_size", 0), f"{T}.batch_size", "less than the minimum"),
    (
        "batch > train set",
        _set(f"{T}.batch_size", 5000),
        "experiments.cnn_depth",
        "larger than the training set",
    ),
    ("batch float", _set(f"{T}.batch_size", 12.5), f"{T}.batch_size", "12.5 is not an integer"),
    (
        "unknown optimizer",
        _set(f"{T}.optimizer", "adamw"),
        f"{T}.optimizer",
        "allowed: ['adam', 'sgd']",
    ),
    (
        "unknown dataset",
        _set(f"{T}.dataset", "svhn"),
        "experiments.cnn_depth",
        "dataset 'svhn' is unknown",
    ),
    (
        "unknown dataset in datasets",
        _set("experiments.params_vs_generalization.datasets.kmnist", {}),
        "experiments.params_vs_generalization.datasets",
        "dataset 'kmnist' is unknown; allowed: a registered data set",
    ),
    (
        "bad key in a data set's overrides",
        _set("experiments.params_vs_generalization.datasets.fashion_mnist", {"epoch": 3}),
        "experiments.params_vs_generalization.datasets.fashion_mnist",
        "'epoch' was unexpected",
    ),
    (
        "more test examples than the set has",
        _set("data.test_size", 10001),
        "data.test_size",
        "more than the 10,000 test examples of MNIST",
    ),
    (
        "unknown activation",
        _set(f"{V}.cnn1.model.activation", "swish"),
        f"{V}.cnn1.model.activation",
        "allowed",
    ),
    ("unknown model type", _set(f"{V}.cnn1.model.type", "rnn"), f"{V}.cnn1.model.type", "allowed"),
    (
        "empty hidden for mlp",
        _set("experiments.functions.variants.deep.model.hidden", []),
        "experiments.functions.variants.deep.model.hidden",
        "should be non-empty",
    ),
    (
        "empty channels for cnn",
        _set(f"{V}.cnn1.model.channels", []),
        f"{V}.cnn1.model.channels",
        "should be non-empty",
    ),
    ("zero seeds", _set(f"{T}.seeds", 0), f"{T}.seeds", "less than the minimum"),
    ("epochs zero", _set(f"{F}.epochs", 0), f"{F}.epochs", "less than the minimum"),
    (
        "snapshot beyond last epoch",
        _set(f"{F}.snapshot_epochs", [0, 99]),
        "experiments.functions",
        "beyond the last epoch",
    ),
    ("negative snapshot", _set(f"{F}.snapshot_epochs", [-1]), f"{F}.snapshot_epochs.0", "minimum"),
    (
        "domain reversed",
        _set("functions.sinc.domain", [1.0, -1.0]),
        "functions.sinc.domain",
        "must be below",
    ),
    ("typo in train key", _set(f"{T}.learning_rate", 0.1), T, "'learning_rate' was unexpected"),
    ("typo at top level", _set("thread", 4), "<top level>", "'thread' was unexpected"),
    (
        "unknown experiment",
        _set("experiments.mnist_dpeth", {}),
        "experiments",
        "'mnist_dpeth' was unexpected",
    ),
    (
        "unknown function",
        _set("functions.tanh", {"domain": [0, 1], "n_train": 10}),
        "functions",
        "tanh",
    ),
    ("device typo", _set("device", "gpu"), "device", "allowed: ['auto', 'cpu', 'cuda']"),
    ("threads zero", _set("threads", 0), "threads", "minimum"),
    (
        "train_size too big",
        _set("data.train_size", 70000),
        "data.train_size",
        "70000 is more than the 60,000 train examples of MNIST",
    ),
    ("bad variant name", _set(f"{V}.cnn-1", {}), V, "does not match"),
    ("no variants", _set(f"{V}", {}), V, "should be non-empty"),
    ("divergence policy", _set(f"{T}.on_divergence", "ignore"), f"{T}.on_divergence", "allowed"),
    ("momentum 1", _set(f"{T}.momentum", 1.0), f"{T}.momentum", "maximum"),
    (
        "step schedule without step",
        _set(f"{T}.lr_schedule", {"type": "step"}),
        f"{T}.lr_schedule",
        "step_size",
    ),
    (
        "random labels on function",
        _set(f"{F}.labels", "random"),
        "experiments.functions",
        "labels: random needs a classification data set",
    ),
    ("missing required data", _del("data"), "<top level>", "'data' is a required property"),
    ("models not matched", _set(f"{V}.cnn1.model.hidden", [64]), f"{V}", "max_param_spread"),
    (
        "dpi too small",
        _set("figures.function_fit", {"dpi": 10}),
        "figures.function_fit.dpi",
        "minimum",
    ),
    ("unknown figure", _set("figures.loss_curve", {}), "figures", "loss_curve"),
    # integers written as floats: jsonschema alone counts 2.0 as an integer
    ("epochs float", _set(f"{T}.epochs", 2.0), f"{T}.epochs", "2.0 is not an integer"),
    ("batch_size float", _set(f"{T}.batch_size", 100.0), f"{T}.batch_size", "not an integer"),
    (
        "snapshot_every float",
        _set("experiments.pca_trajectories.train.snapshot_every", 2.0),
        "experiments.pca_trajectories.train.snapshot_every",
        "not an integer",
    ),
    ("seeds float", _set(f"{T}.seeds", 2.0), f"{T}.seeds", "not an integer"),
    (
        "grid float",
        _set("experiments.error_surface.surface.grid", 5.0),
        "experiments.error_surface.surface.grid",
        "not an integer",
    ),
    (
        "cosine min_lr above lr",
        _set(f"{T}.lr_schedule", {"type": "cosine", "min_lr": 5.0}),
        "experiments.cnn_depth",
        "min_lr 5.0 is above lr",
    ),
    (
        "infinite domain",
        _set("functions.sinc.domain", [-1.0, float("inf")]),
        "functions.sinc.domain",
        "must be finite",
    ),
    (
        "error surface of a regression experiment",
        _set("experiments.error_surface.runs_from", "functions"),
        "experiments.error_surface.runs_from",
        "must be a classification experiment on a registered data set",
    ),
    (
        "error surface of runs without snapshots",
        _set("experiments.error_surface.runs_from", "cnn_depth"),
        "experiments.error_surface.runs_from",
        "at least 3 snapshot epochs",
    ),
    (
        "unknown palette",
        _set("figures.function_fit", {"palette": "tab11"}),
        "figures.function_fit.palette",
        "not a matplotlib colormap",
    ),
    (
        "minimal ratio model above max_params",
        _set("experiments.minimal_ratio.max_params", 50),
        "experiments.minimal_ratio.max_params",
        "more than max_params 50",
    ),
]


@pytest.mark.parametrize("name,mutate,key,words", BAD, ids=[b[0] for b in BAD])
def test_bad_value_is_rejected_naming_the_key(smoke, name, mutate, key, words):
    cfg = copy.deepcopy(smoke)
    mutate(cfg)
    with pytest.raises(ConfigError) as exc:
        validate(cfg, SCHEMA)
    msg = str(exc.value)
    assert f"config key {key}" in msg, msg
    assert words in msg, msg


def test_duplicate_variant_names_are_rejected(tmp_path):
    text = (REPO / "tests/config/smoke.yaml").read_text()
    dup = text.replace(
        "cnn2: {model:",
        "cnn1: {model: {type: cnn, channels: [8], hidden: [16]}}\n      cnn2: {model:",
        1,
    )
    assert dup != text
    p = tmp_path / "dup.yaml"
    p.write_text(dup)
    with pytest.raises(ConfigError, match="'cnn1' appears twice"):
        check_duplicate_keys(p)


def test_variants_override_base_and_expand_seeds(smoke):
    v = expand_variants(smoke)
    assert sorted(v["cnn_depth"]) == ["cnn1", "cnn2", "cnn4"]
    fn = v["functions"]["sinc-deep"]
    assert fn["dataset"] == "sinc"
    assert fn["seeds"] == list(range(smoke["experiments"]["functions"]["train"]["seeds"]))
    assert fn["model"]["hidden"] == [10, 10, 10, 10, 10]
    assert len(v["functions"]) == 9


def test_readme_documents_every_config_key():
    from hw1.config.docs import config_keys_markdown

    readme = (REPO / "README.md").read_text()
    assert config_keys_markdown(SCHEMA) in readme, "regenerate the table: python -m hw1.config"


def test_job_cost_of_the_cnns_is_near_their_measured_seconds():
    """hw1.resources.job_cost (the longest-first priority) against the cnn_depth jobs of the
    full CPU run of 2026-12-01 (141, 161, 208 s; README, "Full-scale run"): within 25% each,
    and the CNN jobs, which take both cores, now rank among the longest jobs of the run (the
    FLOP estimate put them at 15-103 s, so they started last)."""
    from hw1.resources import job_cost

    cfg = validate(yaml.safe_load((REPO / "config.yaml").read_text()), SCHEMA)
    variants = expand_variants(cfg)
    measured = {"mnist-cnn1": 141.0, "mnist-cnn2": 161.0, "mnist-cnn4": 208.0}
    cost = {
        (e, v): job_cost(s, *set_sizes(cfg, s["dataset"]))
        for e, vs in variants.items()
        for v, s in vs.items()
    }
    for var, secs in measured.items():
        assert 0.75 * secs <= cost[("cnn_depth", var)] <= 1.25 * secs, (
            var,
            cost[("cnn_depth", var)],
        )
    ranked = sorted(cost, key=cost.get, reverse=True)
    # behind the four 3-seed random-label jobs (275-454 s measured on 2026-12-03)
    assert ("cnn_depth", "mnist-cnn4") in ranked[:8], ranked[:8]


def test_analysis_seconds_of_the_measures_jobs_are_near_their_measured_seconds():
    """hw1.resources.analysis_seconds (an analysis job's progress estimate, and what its
    analyses add to a training job's priority) against the measures jobs of the 51:14 run
    (benchmarks/cpu-results/2026-12-03-fullrun/jobs.txt) and the Keskar job of the overlay
    (1 h 06 min, README): each within 0.75-2x (those of 10 s or more: a 5-s job is mostly
    Python's start-up), and ranked as measured. generalization_measures/cnn_depth is left
    out: it was measured before retain_freed_memory roughly halved it."""
    import re

    from hw1.config import deep_merge, runs_from
    from hw1.resources import analysis_seconds, keskar_passes, measures_passes

    table = (REPO / "benchmarks/cpu-results/2026-12-03-fullrun/jobs.txt").read_text()
    measured = {
        m.group(1).strip(): float(m.group(2))
        for m in re.finditer(r"^\| analysis \| (\S+) \|  \| 1 \| (\d+) \|", table, re.M)
    }
    raw = yaml.safe_load((REPO / "config.yaml").read_text())
    cfg = validate(raw, SCHEMA)
    variants = expand_variants(cfg)
    exps = cfg["experiments"]

    def runs(experiments, c=cfg, v=variants):
        return [(s, *set_sizes(c, s["dataset"])) for e in experiments for s in v[e].values()]

    est = {"flatness": analysis_seconds("flatness", exps["batch_size"], runs(["batch_size"]))}
    for e in runs_from(exps["generalization_measures"]):
        if e != "cnn_depth":
            est[f"generalization_measures/{e}"] = analysis_seconds(
                "generalization_measures", exps["generalization_measures"], runs([e])
            )
    kcfg = validate(deep_merge(raw, yaml.safe_load((REPO / "overlays/keskar.yaml").read_text())),
                    SCHEMA)  # fmt: skip
    est["keskar_sharpness"] = analysis_seconds(
        "keskar_sharpness", kcfg["experiments"]["keskar"],
        runs(["keskar"], kcfg, expand_variants(kcfg)),
    )  # fmt: skip
    measured["keskar_sharpness"] = 66 * 60.0
    for job, secs in est.items():
        if measured[job] >= 10:
            assert 0.75 * measured[job] <= secs <= 2.0 * measured[job], (job, secs, measured[job])
    assert sorted(est, key=est.get) == sorted(est, key=measured.get)
    for other in ("minimal_ratio", "error_surface", "interpolation"):
        assert analysis_seconds(other, {}, []) is None  # no model: the caller's default
    # the passes as documented, counted by hand: 500 test examples x (a forward + 10 input
    # gradients); 200 training examples x (2 losses + 4 ascent gradients of 3, a gradient
    # of 3 + 20 of the 50 Hessian-vector products allowed, of 4 each)
    sens, sharp = {"test_examples": None}, {"train_examples": 200, "steps": 4, "hessian_iters": 50}
    assert measures_passes(10, 1000, 500, sens, sharp) == 500 * 11 + 200 * (2 + 12 + 3 + 80)
    assert measures_passes(10, 1000, 500, None, {**sharp, "hessian_iters": 5}) == 200 * 37
    # per ε: 2 L-BFGS-B runs of a loss + 12 gradients, the ascent of 2 losses + 30 gradients
    kes = {"eps": [1e-3, 5e-4], "iterations": 10, "ascent_steps": 30, "train_examples": None}
    assert keskar_passes(600, kes) == 600 * 2 * (2 * 37 + 92)


def test_gpu_memory_estimate_covers_the_measured_jobs():
    """hw1.resources.gpu_mem_mb against the peaks the jobs of the default config reserved on an
    H100 (benchmarks/gpu-results/2026-11-27-h100/gpu_memory.log: torch's reserved memory;
    a CUDA context adds ~500 MB): never below (jobs would overfill the GPU), at most ~4x
    above (they would queue for no reason)."""
    import re

    from hw1.resources import gpu_mem_mb

    cfg = validate(yaml.safe_load((REPO / "config.yaml").read_text()), SCHEMA)
    variants = expand_variants(cfg)
    log = (REPO / "benchmarks/gpu-results/2026-11-27-h100/gpu_memory.log").read_text()
    # the log's jobs ran before the data-set registry: their variants are today's MNIST ones
    renamed = {"mnist_depth": "cnn_depth"}
    per_data = {e for e, b in cfg["experiments"].items() if "datasets" in b}
    jobs = [
        (renamed.get(e, e), f"mnist-{v}" if renamed.get(e, e) in per_data else v)
        for e, v in re.findall(r"training (\S+)/(\S+) on cuda", log)
    ]
    reserved = [float(m) for m in re.findall(r"([\d.]+) MB reserved", log)]
    assert len(jobs) == len(reserved) == 36
    for (exp, var), mb in zip(jobs, reserved, strict=True):
        spec = variants[exp][var]
        n = (60000, 10000) if spec["dataset"] in ("mnist", "fashion_mnist") else (1000, 999)
        est = gpu_mem_mb(spec, *n)
        assert mb + 500 <= est <= 4 * (mb + 500), (exp, var, mb, est)


def test_train_defaults_come_from_the_schema_only():
    """One source: the schema's x-default values are what expand_variants fills in and what
    TrainSpec.from_dict gives a spec built in code; TrainSpec itself states none of them."""
    import dataclasses

    from hw1.schema import SCHEMA_PATH, TRAIN_DEFAULTS, load_schema, train_defaults
    from hw1.trainspec import TrainSpec

    assert SCHEMA_PATH == SCHEMA
    assert train_defaults(load_schema(SCHEMA)) == TRAIN_DEFAULTS
    assert TRAIN_DEFAULTS["eval_batch_size"] == 10000 and TRAIN_DEFAULTS["labels"] == "true"
    fields = {f.name: f for f in dataclasses.fields(TrainSpec)}
    for key in TRAIN_DEFAULTS:
        assert fields[key].default is dataclasses.MISSING, key
        assert fields[key].default_factory is dataclasses.MISSING, key
    required = {"experiment": "e", "variant": "v", "dataset": "sinc", "model": {"type": "mlp"}}
    required |= {"optimizer": "adam", "lr": 0.1, "batch_size": 4, "epochs": 1, "seeds": [0]}
    built = TrainSpec.from_dict(required).to_dict()
    for key, value in TRAIN_DEFAULTS.items():
        assert built[key] == value, key
    with pytest.raises(ValueError, match="lacks"):
        TrainSpec.from_dict({k: v for k, v in required.items() if k != "lr"})
    # a variant that sets nothing gets them
    cfg = validate(yaml.safe_load((REPO / "tests/config/smoke.yaml").read_text()), SCHEMA)
    spec = next(iter(expand_variants(cfg)["cnn_depth"].values()))
    assert spec["on_divergence"] == "stop" and spec["lr_schedule"] == {"type": "constant"}


def test_schema_file_validates_the_shipped_configs_on_its_own():
    """workflow/schemas/config.schema.yaml refers to the per-experiment schemas by $ref, so
    snakemake.utils.validate (not only hw1.config) reads it and checks every experiment."""
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate as snakemake_validate

    for path in ("config.yaml", "tests/config/smoke.yaml"):
        snakemake_validate(yaml.safe_load((REPO / path).read_text()), str(SCHEMA))
    bad = yaml.safe_load((REPO / "config.yaml").read_text())
    bad["experiments"]["minimal_ratio"]["phase2"]["threshold"] = "small"  # inside a $ref'd file
    with pytest.raises(WorkflowError, match="threshold"):
        snakemake_validate(bad, str(SCHEMA))


def test_the_keskar_overlay_merged_on_the_default_config_is_valid():
    """overlays/keskar.yaml as Snakemake merges it (--configfile config.yaml overlay): the
    whole config passes every check, and its large batch is 10% of the training set (the
    paper's protocol)."""
    from hw1.config import deep_merge

    full = yaml.safe_load((REPO / "config.yaml").read_text())
    overlay = yaml.safe_load((REPO / "overlays/keskar.yaml").read_text())
    cfg = validate(deep_merge(full, overlay), SCHEMA)
    for ds, group in by_dataset(expand_variants(cfg)["keskar"]).items():
        sizes = sorted(s["batch_size"] for s in group.values())
        assert sizes == [256, set_sizes(cfg, ds)[0] // 10], ds


def _number_leaves(node, path=()):
    """(path, value) of every number in a config (booleans are not numbers)."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _number_leaves(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _number_leaves(v, (*path, i))
    elif isinstance(node, int | float) and not isinstance(node, bool):
        yield path, node


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_every_number_of_the_config_must_be_finite(smoke, bad):
    """One rule for all keys: a NaN or ±inf at any number of the config — every key the
    schema filled in too, and the training keys a variant may set — is refused naming
    exactly that key (before, `lr: .nan` passed every check)."""
    full = validate(copy.deepcopy(smoke), SCHEMA)
    leaves = list(_number_leaves(full))
    assert len(leaves) > 100
    v = full["experiments"]["cnn_depth"]["variants"]["cnn1"]
    for k in ("momentum", "weight_decay", "lr"):
        v.setdefault(k, 0.0 if k != "lr" else 0.001)
    leaves = list(_number_leaves(full))
    for path, _ in leaves:
        cfg = copy.deepcopy(full)
        node = cfg
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = bad
        with pytest.raises(ConfigError) as exc:
            validate(cfg, SCHEMA)
        key = ".".join(map(str, path))
        assert f"config key {key}: {bad} must be finite" in str(exc.value), (key, str(exc.value))


def test_job_flops_counts_steps_and_evaluations_by_hand():
    """hw1.resources.job_flops (the efficiency report's numerator) against the arithmetic of a
    784-32-10 MLP written out: 784·32 + 32·10 multiply-adds per example, 6 FLOPs each to
    train and 2 to evaluate; ⌊500/64⌋ = 7 steps per epoch on the first 500 images; the full
    training (500) and test (200) sets evaluated before training and after each of 3 epochs."""
    from hw1.resources import job_flops

    spec = {
        "dataset": "mnist",
        "model": {"type": "mlp", "hidden": [32]},
        "batch_size": 64,
        "epochs": 3,
        "seeds": [0, 1],
        "train_examples": 500,
    }
    macs = 784 * 32 + 32 * 10
    train = 6 * macs * 7 * 64 * 3
    assert job_flops(spec, 1000, 200) == 2 * (train + 2 * macs * (500 + 200) * 4)
    # a run stopped early records fewer evaluations; they are what is counted
    assert job_flops(spec, 1000, 200, evaluations=2) == 2 * (train + 2 * macs * 700 * 2)
