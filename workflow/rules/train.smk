rule train:
    input:
        unpack(train_inputs),
        code=code("train.py"),
    output:
        metrics="results/runs/{experiment}/{variant}/metrics.parquet",
        steps="results/runs/{experiment}/{variant}/steps.parquet",
        weights="results/runs/{experiment}/{variant}/weights.parquet",
    params:
        spec=train_spec,
        data_cfg=train_data_sizes,
        device=DEVICE,
        cuda_graphs=config["cuda_graphs"],
        checkpoint="results/checkpoints/{experiment}/{variant}.pt",
    log:
        "logs/train/{experiment}/{variant}.log",
    benchmark:
        "benchmarks/train/{experiment}/{variant}.tsv"
    threads: train_threads
    priority: train_priority
    resources:
        mem_mb=train_mem_mb,
        runtime=120,
        gpu=1 if DEVICE == "cuda" else 0,
        gpu_mem_mb=train_gpu_mem_mb,
    conda:
        ENV
    script:
        "../scripts/train.py"
