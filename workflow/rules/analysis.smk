# The heavy analyses of trained runs (hw1.catalogue.ANALYSES): the minimal ratio at
# near-critical points, the error surface (Part 1-2), interpolation paths and the flatness
# measures of every batch-size run (Part 1-3). One job each, one rule for all: the registry
# entry names the runs it reads, its config settings and the function that computes it.
# An entry with a `gather` (the generalization measures of the whole study) runs instead as
# one job per experiment of its runs (rule analysis_part), joined by rule analysis.
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
    priority: ANALYSIS_PRIORITY
    resources:
        mem_mb=ANALYSIS_MEM_MB,
        runtime=lambda wildcards: ANALYSIS_RUNTIME_MIN[wildcards.analysis],
        gpu=1 if DEVICE == "cuda" else 0,
        gpu_mem_mb=ANALYSIS_GPU_MEM_MB,
    conda:
        ENV
    script:
        "../scripts/analysis.py"


rule analysis_part:
    input:
        unpack(analysis_part_inputs),
    output:
        "results/analysis/{analysis}/{experiment}.parquet",
    params:
        options=analysis_options,
    log:
        "logs/analysis/{analysis}/{experiment}.log",
    benchmark:
        "benchmarks/analysis/{analysis}/{experiment}.tsv"
    threads: config["threads"]
    priority: ANALYSIS_PRIORITY
    resources:
        mem_mb=ANALYSIS_MEM_MB,
        runtime=lambda wildcards: ANALYSIS_RUNTIME_MIN[wildcards.analysis],
        gpu=1 if DEVICE == "cuda" else 0,
        gpu_mem_mb=ANALYSIS_GPU_MEM_MB,
    conda:
        ENV
    script:
        "../scripts/analysis.py"
