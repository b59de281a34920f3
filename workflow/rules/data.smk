rule prepare_mnist:
    output:
        "results/data/mnist.pt",
    params:
        root=config["data"]["mnist_root"],
        data_dir=config["data"]["data_dir"],
        download=config["data"]["download"],
    log:
        "logs/data/prepare_mnist.log",
    conda:
        ENV
    script:
        "../scripts/prepare_mnist.py"


rule make_random_labels:
    output:
        "results/data/mnist_random_labels.parquet",
    params:
        seed=config["data"]["random_label_seed"],
    log:
        "logs/data/random_labels.log",
    conda:
        ENV
    script:
        "../scripts/random_labels.py"


rule function_data:
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
