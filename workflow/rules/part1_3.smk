# Part 1-3, generalization: the heavy analyses of trained weights (interpolation paths;
# sensitivity, sharpness and top Hessian eigenvalue per run). Training is rule `train`; the
# figure tables are rule `table` (tables.smk). Each exists only when its experiment is
# configured.

if "interpolation" in EXPERIMENTS:

    rule analysis_interpolation:
        input:
            weights=run_files("interpolation", "weights"),
            data=experiment_data("interpolation"),
            code=code("p13_analysis.py"),
        output:
            "results/analysis/interpolation.parquet",
        params:
            pairs=EXPERIMENTS["interpolation"]["pairs"],
            alpha=EXPERIMENTS["interpolation"]["alpha"],
            seed=EXPERIMENTS["interpolation"]["seed"],
            alpha_batch=EXPERIMENTS["interpolation"]["alpha_batch"],
            data_cfg=DATA_SIZES,
            device=DEVICE,
        log:
            "logs/analysis/interpolation.log",
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

    # One job measures every run; the sensitivity and sharpness figures both draw it.
    rule analysis_flatness:
        input:
            metrics=run_files("batch_size"),
            weights=run_files("batch_size", "weights"),
            data=experiment_data("batch_size"),
            code=code("p13_analysis.py"),
        output:
            "results/analysis/flatness.parquet",
        params:
            sensitivity=EXPERIMENTS["batch_size"]["sensitivity"],
            sharpness=EXPERIMENTS["batch_size"]["sharpness"],
            data_cfg=DATA_SIZES,
            device=DEVICE,
        log:
            "logs/analysis/flatness.log",
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
