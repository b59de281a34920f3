# Root entry point: the workflow lives in workflow/ (`snakemake -s workflow/Snakefile` runs
# the same default target).


include: "workflow/Snakefile"


# Snakemake restores the including file's default target after an include; keep the
# workflow's (rule `all`: every figure, caption and the report).
workflow.default_target = "all"
