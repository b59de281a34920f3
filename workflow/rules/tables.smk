# Figure tables: one job per configured figure, reading what its catalogue entry names
# (hw1.catalogue: run files of its experiment, function data, analyses) and reshaping it
# into the tidy table its figure draws.


rule table:
    input:
        unpack(table_inputs),
    output:
        "results/tables/{figure}.parquet",
    params:
        options=table_options,
    log:
        "logs/tables/{figure}.log",
    conda:
        ENV
    script:
        "../scripts/table.py"
