# Figures: each drawn from its table alone, so it re-renders without retraining.


wildcard_constraints:
    figure="|".join(FIGURES) or "no_figure_configured",


rule plot:
    input:
        table="results/tables/{figure}.parquet",
    output:
        png="results/figures/{figure}.png",
        pdf="results/figures/{figure}.pdf",
    params:
        style=lambda w: figure_style(w.figure),
    log:
        "logs/plot/{figure}.log",
    conda:
        ENV
    script:
        "../scripts/plot.py"


# One alias rule per figure: `snakemake function_fit` rebuilds just that figure.
for _figure in FIGURES:

    rule:
        name:
            _figure
        input:
            f"results/figures/{_figure}.png",
            f"results/figures/{_figure}.pdf",
        localrule: True
