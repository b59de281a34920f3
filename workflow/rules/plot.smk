# Figures: each drawn from its table alone, so it re-renders without retraining. One rule
# per configured figure, so each figure carries its own caption in the Snakemake report.


for _figure in FIGURES:

    rule:
        name:
            f"plot_{_figure}"
        input:
            table=f"results/tables/{_figure}.parquet",
            code=code("plot.py", figure(_figure).plot_module),
        output:
            png=report(
                f"results/figures/{_figure}.png",
                caption="../report/figure.rst",
                category=figure(_figure).group,
                subcategory=figure(_figure).experiment,
                labels={"figure": _figure, "experiment": figure(_figure).experiment},
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
