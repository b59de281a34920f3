# Each image data set, verified and cached: its content is fixed by the files' checksums
# (hw1.datasets), so where they come from (data.root / data_dir / download, read by the script
# from the config) is no param, and pointing data_dir at another copy reruns nothing.
rule prepare:
    input:
        code=code("prepare.py"),
    output:
        datasets.cache_path("{dataset}"),
    params:
        dataset="{dataset}",
    log:
        "logs/data/prepare_{dataset}.log",
    conda:
        ENV
    script:
        "../scripts/prepare.py"


rule make_random_labels:
    input:
        code=code("random_labels.py"),
    output:
        datasets.random_labels_path("{dataset}"),
    params:
        dataset="{dataset}",
        seed=config["data"]["random_label_seed"],
    log:
        "logs/data/random_labels_{dataset}.log",
    conda:
        ENV
    script:
        "../scripts/random_labels.py"


rule function_data:
    input:
        code=code("function_data.py"),
    output:
        "results/data/fn_{function}.parquet",
    params:
        domain=lambda w: config["functions"][w.function]["domain"],
        n_train=lambda w: config["functions"][w.function]["n_train"],
    log:
        "logs/data/fn_{function}.log",
    conda:
        ENV
    script:
        "../scripts/function_data.py"
