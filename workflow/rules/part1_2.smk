# Part 1-2, optimisation: the heavy analyses — minimal ratio at near-critical points (phase 2
# and the Hessians) and (bonus) the error surface. The figure tables are rule `table`
# (tables.smk). Each exists only when its experiment is configured.

# The one variant of the analysed experiments (their schemas allow exactly one);
# error_surface analyses the runs of another experiment (runs_from).
P12_RUNS = {"minimal_ratio": "minimal_ratio"}
if "error_surface" in EXPERIMENTS:
    P12_RUNS["error_surface"] = EXPERIMENTS["error_surface"]["runs_from"]
P12_VARIANT = {
    e: next(iter(VARIANTS[src])) for e, src in P12_RUNS.items() if e in EXPERIMENTS
}


if "minimal_ratio" in EXPERIMENTS:

    rule analysis_minimal_ratio:
        input:
            weights=run_files("minimal_ratio", "weights")[0],
            code=code("p12_minimal_ratio.py"),
            function="results/data/fn_{}.parquet".format(
                VARIANTS["minimal_ratio"][P12_VARIANT["minimal_ratio"]]["dataset"]
            ),
        output:
            "results/analysis/minimal_ratio.parquet",
        params:
            phase2=config["experiments"]["minimal_ratio"]["phase2"],
            tol=config["experiments"]["minimal_ratio"]["eigenvalue_tol"],
            rtol=config["experiments"]["minimal_ratio"]["eigenvalue_rtol"],
            max_params=config["experiments"]["minimal_ratio"]["max_params"],
            device=DEVICE,
        log:
            "logs/analysis/minimal_ratio.log",
        benchmark:
            "benchmarks/analysis/minimal_ratio.tsv"
        threads: config["threads"]
        resources:
            runtime=120,
            gpu=1 if DEVICE == "cuda" else 0,
            gpu_mem_mb=ANALYSIS_GPU_MEM_MB,
        conda:
            ENV
        script:
            "../scripts/p12_minimal_ratio.py"


if "error_surface" in EXPERIMENTS:
    # the data files the error_surface runs were trained on (prepared data set, labels)
    P12_SURFACE_DATA = data_inputs(
        VARIANTS[P12_RUNS["error_surface"]][P12_VARIANT["error_surface"]]
    )

    rule analysis_error_surface:
        input:
            unpack(lambda wildcards: P12_SURFACE_DATA),
            code=code("p12_error_surface.py"),
            weights=expand(
                "results/runs/{experiment}/{variant}/weights.parquet",
                experiment=P12_RUNS["error_surface"],
                variant=P12_VARIANT["error_surface"],
            ),
        output:
            "results/analysis/error_surface.parquet",
        params:
            data_cfg=DATA_SIZES,
            surface=config["experiments"]["error_surface"]["surface"],
            device=DEVICE,
        log:
            "logs/analysis/error_surface.log",
        benchmark:
            "benchmarks/analysis/error_surface.tsv"
        threads: config["threads"]
        resources:
            mem_mb=4000,
            runtime=60,
            gpu=1 if DEVICE == "cuda" else 0,
            gpu_mem_mb=ANALYSIS_GPU_MEM_MB,
        conda:
            ENV
        script:
            "../scripts/p12_error_surface.py"
