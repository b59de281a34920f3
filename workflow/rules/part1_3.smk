# Part 1-3, generalization: random labels, parameter count, interpolation between two
# trained models, and sensitivity / sharpness vs batch size. Training is rule `train`
# (one job per variant); the tables below read the runs. Each block exists only when its
# experiment is configured.

if "random_labels" in EXPERIMENTS:

    rule table_random_labels:
        input:
            metrics=run_files("random_labels"),
        output:
            "results/tables/random_labels.parquet",
        params:
            name="random_labels",
            target_accuracy=EXPERIMENTS["random_labels"]["target_accuracy"],
        log:
            "logs/tables/random_labels.log",
        conda:
            ENV
        script:
            "../scripts/table.py"


if "params_vs_generalization" in EXPERIMENTS:

    rule table_params_vs_generalization:
        input:
            metrics=run_files("params_vs_generalization"),
        output:
            "results/tables/params_vs_generalization.parquet",
        params:
            name="params_vs_generalization",
        log:
            "logs/tables/params_vs_generalization.log",
        conda:
            ENV
        script:
            "../scripts/table.py"


if "interpolation" in EXPERIMENTS:

    rule table_interpolation:
        input:
            weights=run_files("interpolation", "weights"),
            mnist="results/data/mnist.pt",
        output:
            "results/tables/interpolation.parquet",
        params:
            name="interpolation",
            pairs=EXPERIMENTS["interpolation"]["pairs"],
            alpha=EXPERIMENTS["interpolation"]["alpha"],
            seed=EXPERIMENTS["interpolation"]["seed"],
            alpha_batch=EXPERIMENTS["interpolation"]["alpha_batch"],
            data_cfg=config["data"],
            device=DEVICE,
        log:
            "logs/tables/interpolation.log",
        benchmark:
            "benchmarks/analysis/interpolation.tsv"
        threads: config["threads"]
        resources:
            mem_mb=4000,
            runtime=60,
            gpu=1 if DEVICE == "cuda" else 0,
            gpu_mem_mb=ANALYSIS_GPU_MEM_MB,
        conda:
            ENV
        script:
            "../scripts/p13_analysis.py"


if "batch_size" in EXPERIMENTS:

    # One job computes sensitivity, sharpness and the top eigenvalue of every run; both
    # figures draw from its table (written twice, once per figure name).
    rule table_flatness:
        input:
            metrics=run_files("batch_size"),
            weights=run_files("batch_size", "weights"),
            mnist="results/data/mnist.pt",
        output:
            "results/tables/sensitivity.parquet",
            "results/tables/sharpness.parquet",
        params:
            name="sensitivity",
            sensitivity=EXPERIMENTS["batch_size"]["sensitivity"],
            sharpness=EXPERIMENTS["batch_size"]["sharpness"],
            data_cfg=config["data"],
            device=DEVICE,
        log:
            "logs/tables/flatness.log",
        benchmark:
            "benchmarks/analysis/flatness.tsv"
        threads: config["threads"]
        resources:
            mem_mb=4000,
            runtime=120,
            gpu=1 if DEVICE == "cuda" else 0,
            gpu_mem_mb=ANALYSIS_GPU_MEM_MB,
        conda:
            ENV
        script:
            "../scripts/p13_analysis.py"
