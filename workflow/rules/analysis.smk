# The heavy analyses of trained runs (hw1.catalogue.ANALYSES): the minimal ratio at
# near-critical points, the error surface (Part 1-2), interpolation paths and the flatness
# measures of every batch-size run (Part 1-3). One job each, one rule for all: the registry
# entry names the runs it reads, its config settings and the function that computes it.
# The figure tables that draw them are rule `table` (tables.smk).


rule analysis:
    input:
        unpack(analysis_inputs),
    output:
        "results/analysis/{analysis}.parquet",
    params:
        options=analysis_options,
    log:
        "logs/analysis/{analysis}.log",
    benchmark:
        "benchmarks/analysis/{analysis}.tsv"
    threads: config["threads"]
    resources:
        mem_mb=ANALYSIS_MEM_MB,
        runtime=lambda wildcards: ANALYSIS_RUNTIME_MIN[wildcards.analysis],
        gpu=1 if DEVICE == "cuda" else 0,
        gpu_mem_mb=ANALYSIS_GPU_MEM_MB,
    conda:
        ENV
    script:
        "../scripts/analysis.py"
