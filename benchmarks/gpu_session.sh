#!/usr/bin/env bash
# Everything the GPU path needs measured, in one command on a lent CUDA machine (no network):
#   1. install Snakemake + jsonschema from wheels carried in .whl/ (see README, "GPU");
#   2. the CUDA tests (captured vs eager, capture really replayed, GPU vs CPU);
#   3. benchmarks/gpu.py (DataLoader loop vs eager vs captured; stacked function nets);
#   4. the whole default config through `snakemake --profile profiles/gpu`, from nothing,
#      and benchmarks/jobs.py on its benchmark files.
# Logs and tables go to $OUT (or ./gpu-session-out). Stops after step 2 if a test fails.
#   bash benchmarks/gpu_session.sh [GPU_MEM_MB_CAP]
set -u
OUT=${OUT:-gpu-session-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD/src:$PWD"
PY=${PY:-python3}
CAP=${1:-70000}
log() { echo "== $(date +%T) $*" | tee -a "$OUT/session.log"; }

log "GPU"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$OUT/session.log"
$PY -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())" | tee -a "$OUT/session.log"

log "install snakemake from .whl"
if ! $PY -m pip install -q --no-index --find-links .whl snakemake==9.27.1 jsonschema==4.26.0 \
    >"$OUT/pip.log" 2>&1; then
    tail -20 "$OUT/pip.log"
    log "pip install failed"
fi

log "CUDA tests"
if ! timeout 150 $PY -m pytest -q -p no:cacheprovider tests/test_graphs.py tests/test_engine.py \
    tests/test_stacked.py 2>&1 | tee "$OUT/tests.log" | tail -25; then
    log "tests failed: stopping"
    exit 1
fi
grep -q "failed" "$OUT/tests.log" && { log "tests failed: stopping"; exit 1; }

log "benchmarks/gpu.py"
timeout 200 $PY benchmarks/gpu.py --out "$OUT/gpu_bench.md" 2>&1 | tail -30

log "snakemake --profile profiles/gpu, from nothing (gpu_mem_mb cap $CAP)"
rm -rf results logs benchmarks/train benchmarks/analysis .snakemake
t0=$(date +%s.%N)
timeout 330 $PY -m snakemake --profile profiles/gpu --resources gpu_mem_mb="$CAP" --keep-going \
    >"$OUT/snakemake.log" 2>&1
rc=$?
t1=$(date +%s.%N)
log "snakemake exit $rc, wall $($PY -c "print(round($t1 - $t0, 1))") s"
grep -E "jobs done|Done in|failed|Error|error" "$OUT/snakemake.log" | tail -8
$PY benchmarks/jobs.py . >"$OUT/jobs.md" 2>&1
tail -25 "$OUT/jobs.md"
grep -h "peak GPU memory\|CUDA graphs" logs/train/*/*.log >"$OUT/gpu_memory.log" 2>/dev/null
tar czf "$OUT/results.tgz" logs benchmarks/train benchmarks/analysis results/report.md \
    results/figures/*.png 2>/dev/null
log "done"
