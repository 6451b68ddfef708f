#!/usr/bin/env bash
# The GPU figures of RESULTS.md, taken in one go on a machine with torch and a CUDA GPU, from
# the source tree with nothing installed (the fast-path tests, both throughput targets, and
# the CPU path on two of that machine's cores). Usage: OUT=folder bash benchmarks/gpu_session.sh
set -u
OUT=${OUT:-/tmp/aigc_gpu_session}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PYTEST_DISABLE_PLUGIN_AUTOLOAD=1
{
  echo "== machine $(date -u +%FT%TZ)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import sys, torch; print('python', sys.version.split()[0], 'torch', torch.__version__)"
  lscpu | grep -E "Model name|^CPU\(s\)"
  echo "cpu bf16: $(grep -o -E 'avx512_bf16|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')"
  echo "== fast-path tests"
  timeout 120 python3 -m pytest -q -p no:cacheprovider tests/engine/test_fastpath.py -m "not slow"
  echo "== seed model, batch 128"
  timeout 120 python3 benchmarks/train_throughput.py --device cuda --model seed --batch-size 128
  echo "== 64x64x3, batch 1024"
  timeout 150 python3 benchmarks/train_throughput.py --device cuda --model dcgan64 \
    --batch-size 1024 --steps 200
  echo "== cpu, 2 cores of this machine"
  OMP_NUM_THREADS=2 timeout 120 taskset -c 0,1 python3 benchmarks/train_throughput.py \
    --device cpu --steps 60
} 2>&1 | tee "$OUT/gpu_session.log"
