# Part 1-1, deep vs shallow: tables drawn from the training runs.

if "functions" in EXPERIMENTS:
    FIGURES += ["function_loss", "function_fit"]
if "mnist_depth" in EXPERIMENTS:
    FIGURES += ["mnist_depth"]


rule table_function_loss:
    input:
        metrics=run_files("functions"),
    output:
        "results/tables/function_loss.parquet",
    params:
        name="function_loss",
    log:
        "logs/tables/function_loss.log",
    script:
        "../scripts/table.py"


rule table_function_fit:
    input:
        weights=run_files("functions", "weights"),
        functions=expand(
            "results/data/fn_{function}.parquet",
            function=config["experiments"]["functions"]["functions"],
        ),
    output:
        "results/tables/function_fit.parquet",
    params:
        name="function_fit",
    log:
        "logs/tables/function_fit.log",
    script:
        "../scripts/table.py"


rule table_mnist_depth:
    input:
        metrics=run_files("mnist_depth"),
    output:
        "results/tables/mnist_depth.parquet",
    params:
        name="mnist_depth",
    log:
        "logs/tables/mnist_depth.log",
    script:
        "../scripts/table.py"
