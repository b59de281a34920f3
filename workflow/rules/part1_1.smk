# Part 1-1, deep vs shallow: tables drawn from the training runs. Each experiment's rules
# exist only when the experiment is configured.

if "functions" in EXPERIMENTS:

    rule table_function_loss:
        input:
            metrics=run_files("functions"),
        output:
            "results/tables/function_loss.parquet",
        params:
            name="function_loss",
        log:
            "logs/tables/function_loss.log",
        conda:
            ENV
        script:
            "../scripts/table.py"

    rule table_function_fit:
        input:
            weights=run_files("functions", "weights"),
            functions=expand(
                "results/data/fn_{function}.parquet",
                function=EXPERIMENTS["functions"]["functions"],
            ),
        output:
            "results/tables/function_fit.parquet",
        params:
            name="function_fit",
        log:
            "logs/tables/function_fit.log",
        conda:
            ENV
        script:
            "../scripts/table.py"


if "mnist_depth" in EXPERIMENTS:

    rule table_mnist_depth:
        input:
            metrics=run_files("mnist_depth"),
        output:
            "results/tables/mnist_depth.parquet",
        params:
            name="mnist_depth",
        log:
            "logs/tables/mnist_depth.log",
        conda:
            ENV
        script:
            "../scripts/table.py"
