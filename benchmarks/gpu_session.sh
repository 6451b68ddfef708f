#!/usr/bin/env bash
# The GPU-machine figures of RESULTS.md, taken in one go on a machine with torch and a CUDA
# GPU, from the source tree with nothing installed. Sections (default: all):
#   tests       the fast-path tests (CUDA capture, fallback, resume, fp16)
#   quality     20-epoch digit runs (bf16 + CUDA graph, fp32 eager, bf16 on the CPU), judged
#   throughput  both GPU throughput targets against the reference loop
#   cpu         the CPU path on two of that machine's cores (it has AVX512-BF16 and AMX)
# Usage: OUT=folder bash benchmarks/gpu_session.sh [section ...]
set -u
OUT=${OUT:-/tmp/aigc_gpu_session}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PYTEST_DISABLE_PLUGIN_AUTOLOAD=1
export AIGC_STUDIO_HOME=/tmp/aigc_gpu_home
sections=${*:-tests quality throughput cpu}
has() { [[ " $sections " == *" $1 "* ]]; }
{
  echo "== machine $(date -u +%FT%TZ)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import sys, torch; print('python', sys.version.split()[0], 'torch', torch.__version__)"
  lscpu | grep -E "Model name|^CPU\(s\)"
  echo "cpu bf16: $(grep -o -E 'avx512_bf16|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')"
  if has tests; then
    echo "== fast-path tests"
    timeout 120 python3 -m pytest -q -p no:cacheprovider tests/engine/test_fastpath.py -m "not slow"
  fi
  if has quality; then
    echo "== sample quality: 20 epochs on digits, seed 0"
    q=/tmp/aigc_quality
    rm -rf "$q"
    timeout 60 python3 -m aigc_studio train --device cuda --epochs 20 --out "$q/gpu-bf16-graph" 2>&1 | tail -2
    timeout 90 python3 -m aigc_studio train --device cuda --epochs 20 --no-fast --out "$q/gpu-fp32-eager" 2>&1 | tail -2
    timeout 150 python3 -m aigc_studio train --device cpu --precision bf16 --epochs 20 --out "$q/cpu-bf16" 2>&1 | tail -2
    timeout 90 python3 benchmarks/sample_quality.py "$q"/*/* --epochs 10 20
  fi
  if has throughput; then
    echo "== seed model, batch 128"
    timeout 150 python3 benchmarks/train_throughput.py --device cuda --model seed --batch-size 128
    echo "== 64x64x3, batch 1024"
    timeout 180 python3 benchmarks/train_throughput.py --device cuda --model dcgan64 \
      --batch-size 1024 --steps 200
  fi
  if has cpu; then
    echo "== cpu, 2 cores of this machine"
    OMP_NUM_THREADS=2 timeout 150 taskset -c 0,1 python3 benchmarks/train_throughput.py \
      --device cpu --steps 60
  fi
} 2>&1 | tee "$OUT/gpu_session.log"
