# The verified MNIST cache: its content is fixed by the four files' MD5s, so where they come
# from (data.mnist_root / data_dir / download, read by the script from the config) is no
# param, and pointing data_dir at another copy reruns nothing.
rule prepare_mnist:
    input:
        code=code("prepare_mnist.py"),
    output:
        "results/data/mnist.pt",
    log:
        "logs/data/prepare_mnist.log",
    conda:
        ENV
    script:
        "../scripts/prepare_mnist.py"


rule make_random_labels:
    input:
        code=code("random_labels.py"),
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
