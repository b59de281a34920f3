# Figures: each drawn from its table alone, so it re-renders without retraining. One rule
# per configured figure, so each figure carries its own caption in the Snakemake report.


wildcard_constraints:
    figure="|".join(FIGURES) or "no_figure_configured",


# Report grouping: the homework part (category) and the experiment (subcategory).
FIGURE_GROUP = {
    "function_loss": ("Part 1-1: deep vs shallow", "functions"),
    "function_fit": ("Part 1-1: deep vs shallow", "functions"),
    "mnist_depth": ("Part 1-1: deep vs shallow", "mnist_depth"),
    "pca_trajectories": ("Part 1-2: optimization", "pca_trajectories"),
    "grad_norm": ("Part 1-2: optimization", "grad_norm"),
    "minimal_ratio": ("Part 1-2: optimization", "minimal_ratio"),
    "error_surface": ("Part 1-2: optimization", "error_surface"),
    "random_labels": ("Part 1-3: generalization", "random_labels"),
    "params_vs_generalization": (
        "Part 1-3: generalization",
        "params_vs_generalization",
    ),
    "interpolation": ("Part 1-3: generalization", "interpolation"),
    "sensitivity": ("Part 1-3: generalization", "batch_size"),
    "sharpness": ("Part 1-3: generalization", "batch_size"),
}

for _figure in FIGURES:

    rule:
        name:
            f"plot_{_figure}"
        input:
            table=f"results/tables/{_figure}.parquet",
        output:
            png=report(
                f"results/figures/{_figure}.png",
                caption=f"../report/{_figure}.rst",
                category=FIGURE_GROUP[_figure][0],
                subcategory=FIGURE_GROUP[_figure][1],
                labels={"figure": _figure, "experiment": FIGURE_GROUP[_figure][1]},
            ),
            pdf=f"results/figures/{_figure}.pdf",
        params:
            figure=_figure,
            style=figure_style(_figure),
        log:
            f"logs/plot/{_figure}.log",
        conda:
            ENV
        script:
            "../scripts/plot.py"

    # `snakemake <figure>` rebuilds just that figure (and what it needs).
    rule:
        name:
            _figure
        input:
            f"results/figures/{_figure}.png",
            f"results/figures/{_figure}.pdf",
        localrule: True
