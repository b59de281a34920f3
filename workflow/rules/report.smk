# The homework report: one RST caption per figure (for the Snakemake HTML report) and
# results/report.md and results/homework.html laid out like the homework, all written from
# the figure tables and the configuration (no number typed by hand). The HTML is not named
# report.html: that is the Snakemake report (`snakemake --report results/report.html`).

from hw1.summaries.common import figure_config, report_config


rule figure_caption:
    input:
        table="results/tables/{figure}.parquet",
        code=lambda wildcards: code(
            "caption.py", figure(wildcards.figure).summary_module
        ),
    output:
        "results/captions/{figure}.rst",
    params:
        config=lambda wildcards: figure_config(config, wildcards.figure),
    log:
        "logs/report/caption_{figure}.log",
    conda:
        ENV
    script:
        "../scripts/caption.py"


rule homework_report:
    input:
        tables=expand("results/tables/{figure}.parquet", figure=FIGURES),
        pngs=expand("results/figures/{figure}.png", figure=FIGURES),
        captions=expand("results/captions/{figure}.rst", figure=FIGURES),
        code=code("report.py", *{figure(f).summary_module for f in FIGURES}),
    output:
        md="results/report.md",
        html="results/homework.html",
        findings=FINDINGS_FILE,
    params:
        figures=FIGURES,
        config=report_config(config),
    log:
        "logs/report/report.log",
    conda:
        ENV
    script:
        "../scripts/report.py"
