"""The catalogue: the one list of the homework's figures, and of the analyses they draw.

Each :class:`Figure` names its homework part, the experiment whose runs it draws (the figure
exists exactly when that experiment is configured), its title, and the three functions that
make it: the table builder (runs and analyses in, tidy table out), the plot function (table
in, matplotlib figure out) and the summary (table and config in, the report's settings,
numbers and observation out). The workflow's rules, the report and its captions, the tests
and the README's figure table all read this list; adding a figure is one entry here plus
its three functions (README, "How to add a figure").

The functions are named as ``"module:function"`` and imported only when used, so reading the
catalogue (the Snakefile does, at parse time) imports neither pandas nor matplotlib nor torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

PARTS = {"1-1": "Deep vs shallow", "1-2": "Optimization", "1-3": "Generalization"}
# The one name of each part in the code: its modules of tables, figures, summaries, analysis
# jobs and config checks (``hw1.tables.<name>``, ``hw1.jobs.<name>``, ...).
PART_MODULES = {"1-1": "deep_vs_shallow", "1-2": "optimization", "1-3": "generalization"}
# What a table job may read: run files of the figure's experiment, the data of its target
# functions, or an analysis file (``analysis:<name>``).
READS = ("metrics", "weights", "steps", "functions", "analysis")


@dataclass(frozen=True)
class Figure:
    """One figure of the homework and the three functions that make it."""

    name: str
    part: str  # key of PARTS
    experiment: str  # config experiment whose runs (or analysis) the figure draws
    title: str
    table: str  # "module:function": (inputs: {name: [paths]}, params) -> DataFrame
    plot: str  # "module:function": (table, style) -> matplotlib Figure
    summary: str  # "module:function": (table, config) -> FigureSummary
    about: str = ""  # what the figure shows (the opening of its caption)
    reads: tuple[str, ...] = ()  # the table job's inputs (see CATALOGUE)
    options: tuple[str, ...] = ()  # experiment config keys the table builder gets

    def __post_init__(self) -> None:
        if self.part not in PARTS:
            raise ValueError(
                f"figure {self.name!r}: part {self.part!r} is not one of {list(PARTS)}"
            )
        for item in self.reads:
            kind, _, name = item.partition(":")
            if kind not in READS or (kind == "analysis") != bool(name):
                raise ValueError(
                    f"figure {self.name!r}: table input {item!r} in hw1.catalogue is not one of "
                    f"{list(READS[:-1])} or analysis:<name>; fix its `reads`"
                )

    @property
    def group(self) -> str:
        """The Snakemake report's category of the figure."""
        return f"Part {self.part}: {PARTS[self.part].lower()}"

    @property
    def table_module(self) -> str:
        """The module of its table builder (a code input of its table job)."""
        return self.table.partition(":")[0]

    @property
    def plot_module(self) -> str:
        """The module of its plot function (a code input of its plot job)."""
        return self.plot.partition(":")[0]

    @property
    def summary_module(self) -> str:
        """The module of its summary (a code input of its caption and the report)."""
        return self.summary.partition(":")[0]

    def table_fn(self) -> Callable[..., Any]:
        return _resolve(self.table)

    def plot_fn(self) -> Callable[..., Any]:
        return _resolve(self.plot)

    def summary_fn(self) -> Callable[..., Any]:
        return _resolve(self.summary)


def _resolve(ref: str) -> Callable[..., Any]:
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


# What each figure shows: the opening paragraph of its caption (Snakemake report).
ABOUT = {
    "function_loss": (
        "Training loss (solid) and test loss (dashed) of MLPs with 1, 2 and 5 hidden layers "
        "and (nearly) equal parameter counts, fitted to each 1-D function; per-sample mean "
        "squared error on the full training grid and on the separate test grid (midpoints "
        "between training points), log scale, mean and min-max over seeds."
    ),
    "function_fit": (
        "Each seed's own network's prediction on the test grid after training, against the "
        "ground truth, one panel per function: for each model the seed with the median test-"
        "grid MSE is drawn bold, the other seeds thin (no curve is an average of predictions,"
        " which no trained network would make)."
    ),
    "cnn_depth": (
        "CNNs of 1, 2 and 4 conv layers with matched parameter counts, one row per data set: "
        "full-set training loss, training error and test error (1 − accuracy) after every "
        "epoch, on log axes so that differences of 1–2% show; parameter counts in the legend; "
        "right, each model's final test error (%, mean and min-max over seeds) on a linear "
        "axis fitted to those values."
    ),
    "pca_trajectories": (
        "One image-classification model trained several times (seeds differ in "
        "initialisation and minibatch order); weights collected every few epochs are "
        "projected to 2-D by PCA fitted (left) on all parameters and (right) on the first "
        "layer's parameters only, each on its own"
        " columns. Start and end of each run are marked; colour shows the training accuracy "
        "at each point; explained-variance ratios are on the axes."
    ),
    "grad_norm": (
        "Minibatch training loss and gradient norm ‖∇θL‖₂ over all parameters at every "
        "iteration, twin log axes: the function-fit network on sin(5πx)/(5πx) and an image-"
        "classification model."
    ),
    "minimal_ratio": (
        "Minimal ratio (share of Hessian eigenvalues above the tolerance) against the "
        "training loss at points where the gradient norm was driven towards zero: phase 1 "
        "trains on MSE, phase 2 minimises ½‖∇θL‖² by double backpropagation; exact float64 "
        "Hessian. Converged and non-converged runs are drawn with different markers; none is "
        "dropped."
    ),
    "error_surface": (
        "Loss landscape of a trained image-classification model along two filter-normalised random "
        "directions (Li et al. 2018), as contours and a 3-D surface, and the loss over the "
        "PCA plane of the weight trajectories with the trajectories drawn on it."
    ),
    "random_labels": (
        "The same network trained with random training labels (fixed seed; test labels stay "
        "true) and, dashed, on the true labels, one row per data set: full-set training and "
        "test loss and accuracy per epoch."
    ),
    "params_vs_generalization": (
        "Final training and test loss and accuracy of models of increasing size against their"
        " parameter count (log x), mean and spread over seeds, one row per data set."
    ),
    "interpolation": (
        "Loss (log) and accuracy on the full training and test sets along θ(α) = (1−α)θ₁ + "
        "αθ₂ between two solutions of the same architecture, one row per data set; α = 0 and "
        "α = 1 are the trained models."
    ),
    "sensitivity": (
        "Final loss and accuracy against the training batch size, and the sensitivity: the "
        "Frobenius norm of the Jacobian of the softmax output with respect to the input, "
        "computed per test example and averaged over the test set; one row per data set."
    ),
    "sharpness": (
        "Sharpness against the training batch size: Keskar et al. (2017) ε-sharpness (largest"
        " loss increase within the ε-box around the weights, found by projected gradient "
        "ascent, relative to 1 + loss, ×100) and the top Hessian eigenvalue by power "
        "iteration on Hessian-vector products; one row per data set."
    ),
    "keskar": (
        "Keskar et al. (2017)'s protocol: a small batch (SB) and a large batch (LB, 10% of "
        "the training set), both trained with Adam until the full training loss stopped "
        "improving; final training and test accuracy, and the sharpness of each minimum "
        "(their Metric 2.1, in %) maximised as the paper does, by 10 iterations of L-BFGS-B, "
        "in the full space and in a random 100-dimensional subspace, at ε = 1e-3 and 5e-4, "
        "beside our projected ascent on the same minima and the paper's own numbers for its "
        "fully connected network F1 (Tables 2-4). Mean and min-max over seeds."
    ),
    "generalization_measures": (
        "Every trained classifier of the study (each experiment, variant, data set and seed "
        "the config lists), one row per data set: the generalization gap in accuracy (train −"
        " test) against each measure said to predict it — input sensitivity (Novak et al. "
        "2018), ε-sharpness and the top Hessian eigenvalue (Keskar et al. 2017), the "
        "parameter norm and the parameter count — all measured with the same settings; in "
        "each panel Kendall's τ with the gap and its 95% bootstrap interval over models. Last"
        " column: τ of every measure with the gap in loss and in accuracy, and the "
        "granulated coefficient ψ (Jiang et al. 2020: τ within groups where only one "
        "experiment's variant changes, averaged)."
    ),
}


def _fig(
    part: str,
    name: str,
    experiment: str,
    title: str,
    reads: tuple[str, ...],
    *,
    table: str | None = None,
    options: tuple[str, ...] = (),
) -> Figure:
    """An entry whose functions follow the naming convention: ``table_<table or name>``,
    ``fig_<name>`` and ``summarize_<name>`` in ``hw1.tables``, ``hw1.figures`` and
    ``hw1.summaries`` ``.<part module>`` (:data:`PART_MODULES`); what it shows from
    :data:`ABOUT`."""
    mod = PART_MODULES[part]
    return Figure(
        name,
        part,
        experiment,
        title,
        f"hw1.tables.{mod}:table_{table or name}",
        f"hw1.figures.{mod}:fig_{name}",
        f"hw1.summaries.{mod}:summarize_{name}",
        ABOUT[name],
        reads,
        options,
    )


# In the homework's order (the report's order). ``reads``: what the table job reads —
# ``metrics`` / ``weights`` / ``steps`` (the run files of every variant of the figure's
# experiment), ``functions`` (the data of its target functions), ``analysis:<name>``
# (``results/analysis/<name>.parquet``); ``options``: keys of the experiment's config block
# that the table builder gets as params.
CATALOGUE: list[Figure] = [
    _fig("1-1", "function_loss", "functions",
         "Simulating a function: training and test loss", ("metrics",)),
    _fig("1-1", "function_fit", "functions",
         "Simulating a function: the fitted curves", ("weights", "functions")),
    _fig("1-1", "cnn_depth", "cnn_depth",
         "Training on images: CNNs of different depth", ("metrics",)),
    _fig("1-2", "pca_trajectories", "pca_trajectories",
         "Visualizing the optimization process", ("weights", "metrics")),
    _fig("1-2", "grad_norm", "grad_norm", "Gradient norm during training", ("steps",)),
    _fig("1-2", "minimal_ratio", "minimal_ratio",
         "What happens when the gradient is almost zero", ("analysis:minimal_ratio",)),
    _fig("1-2", "error_surface", "error_surface", "Bonus: the error surface",
         ("analysis:error_surface",)),
    _fig("1-3", "random_labels", "random_labels", "Can the network fit random labels?",
         ("metrics",), options=("target_accuracy",)),
    _fig("1-3", "params_vs_generalization", "params_vs_generalization",
         "Number of parameters vs generalization", ("metrics",)),
    _fig("1-3", "interpolation", "interpolation",
         "Flatness vs generalization: interpolation", ("analysis:interpolation",)),
    # both draw the one flatness analysis of the batch_size runs
    _fig("1-3", "sensitivity", "batch_size", "Flatness vs generalization: sensitivity",
         ("analysis:flatness",), table="flatness", options=("undertrained_margin",)),
    _fig("1-3", "sharpness", "batch_size", "Bonus: sharpness vs batch size",
         ("analysis:flatness",), table="flatness", options=("undertrained_margin",)),
    _fig("1-3", "keskar", "keskar", "Keskar et al.'s protocol: small vs large batch",
         ("analysis:keskar_sharpness",)),
    _fig("1-3", "generalization_measures", "generalization_measures",
         "Generalization measures across the study", ("analysis:generalization_measures",)),
]  # fmt: skip


@dataclass(frozen=True)
class Analysis:
    """One heavy analysis of trained runs: one job, ``results/analysis/<name>.parquet``.

    It exists when ``experiment`` is configured; it reads the runs of every variant of
    ``runs`` (an experiment, or ``"runs_from"``: the experiments the config's ``runs_from``
    key of ``experiment`` names, one or a list), the kinds of files ``reads`` lists (run files, and
    ``data``: what the runs were trained on — the prepared image set with its random labels,
    or the 1-D function's grid), and gets the keys ``options`` of ``experiment``'s config
    block as params. ``job``: ``"module:function"``, (inputs, params) -> DataFrame.

    ``gather`` (``"module:function"``, list of DataFrames -> DataFrame) splits it into one
    job per experiment of its runs (``results/analysis/<name>/<experiment>.parquet``, each
    the ``job`` of that experiment's runs), which start as soon as that experiment's
    training is done and run side by side; ``gather`` joins them into the one file.
    """

    name: str
    part: str  # key of PARTS
    experiment: str
    job: str
    reads: tuple[str, ...]
    options: tuple[str, ...]
    runs: str = ""  # "" (the runs of ``experiment``) or "runs_from"
    gather: str = ""  # "" (one job) or "module:function": one job per experiment, joined

    @property
    def job_module(self) -> str:
        """The module of its job function (a code input of its analysis job)."""
        return self.job.partition(":")[0]

    @property
    def gather_module(self) -> str:
        """The module of its gather function (the code input of its joining job)."""
        return self.gather.partition(":")[0]

    def job_fn(self) -> Callable[..., Any]:
        return _resolve(self.job)

    def gather_fn(self) -> Callable[..., Any]:
        """The function that joins its per-experiment parts (only where ``gather`` is set)."""
        if not self.gather:
            raise ValueError(f"analysis {self.name!r} runs as one job; it has no parts")
        return _resolve(self.gather)


# The heavy analyses, in the homework's order; the tables of the figures read their files
# (``analysis:<name>`` in a figure's ``reads``).
ANALYSES: list[Analysis] = [
    Analysis("minimal_ratio", "1-2", "minimal_ratio", "hw1.jobs.optimization:minimal_ratio_job",
             ("weights", "data"), ("phase2", "eigenvalue_tol", "eigenvalue_rtol", "max_params")),
    Analysis("error_surface", "1-2", "error_surface", "hw1.jobs.optimization:error_surface_job",
             ("weights", "data"), ("surface",), runs="runs_from"),
    Analysis("interpolation", "1-3", "interpolation",
             "hw1.jobs.generalization:interpolation_job", ("weights", "data"),
             ("pairs", "alpha", "seed", "alpha_batch")),
    Analysis("flatness", "1-3", "batch_size", "hw1.jobs.generalization:flatness_job",
             ("metrics", "weights", "data"), ("sensitivity", "sharpness")),
    Analysis("keskar_sharpness", "1-3", "keskar", "hw1.jobs.generalization:keskar_job",
             ("metrics", "weights", "data"), ("sharpness",)),
    Analysis("generalization_measures", "1-3", "generalization_measures",
             "hw1.jobs.generalization:measures_job", ("metrics", "weights", "data"),
             ("sensitivity", "sharpness"), runs="runs_from",
             gather="hw1.jobs.generalization:gather_measures"),
]  # fmt: skip


def _entry(entries: list[Any], name: str, what: str) -> Any:
    """The entry called ``name`` (a KeyError naming the known ones otherwise)."""
    for e in entries:
        if e.name == name:
            return e
    raise KeyError(f"no {what} {name!r} in hw1.catalogue; known: {[e.name for e in entries]}")


def _configured(entries: list[Any], config: Mapping[str, Any]) -> list[str]:
    """The entries of the experiments ``config`` configures, in the homework's order."""
    exps = config.get("experiments", {})
    return [e.name for e in entries if e.experiment in exps]


def analysis(name: str) -> Analysis:
    """The registry entry of analysis ``name``."""
    return _entry(ANALYSES, name, "analysis")


def configured_analyses(config: Mapping[str, Any]) -> list[str]:
    """The analyses of the experiments ``config`` configures, in the homework's order."""
    return _configured(ANALYSES, config)


def figures() -> dict[str, Figure]:
    """Every catalogued figure by name, in the homework's order."""
    return {f.name: f for f in CATALOGUE}


def figure(name: str) -> Figure:
    """The catalogue entry of figure ``name``."""
    return _entry(CATALOGUE, name, "figure")


def configured(config: Mapping[str, Any]) -> list[str]:
    """The figures of the experiments ``config`` configures, in the homework's order."""
    return _configured(CATALOGUE, config)


def ordered(names: list[str]) -> list[str]:
    """``names`` in the homework's order (names not catalogued last, as given)."""
    known = [f.name for f in CATALOGUE if f.name in names]
    return known + [n for n in names if n not in known]


@contextmanager
def registered(fig: Figure) -> Iterator[Figure]:
    """``fig`` added to the catalogue for the duration (tests, and trying out a figure)."""
    if any(f.name == fig.name for f in CATALOGUE):
        raise ValueError(f"figure {fig.name!r} is already catalogued")
    CATALOGUE.append(fig)
    try:
        yield fig
    finally:
        CATALOGUE.remove(fig)


def markdown_table() -> str:
    """The README's figure table (a test keeps the README in step with the catalogue)."""
    lines = [
        "| figure | part | experiment | title | table / plot / summary |",
        "|---|---|---|---|---|",
    ]
    for f in CATALOGUE:
        fns = " / ".join(
            f"`{ref.split(':')[0].removeprefix('hw1.')}:{ref.split(':')[1]}`"
            for ref in (f.table, f.plot, f.summary)
        )
        lines.append(f"| `{f.name}` | {f.part} | `{f.experiment}` | {f.title} | {fns} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
