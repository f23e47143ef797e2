#!/usr/bin/env bash
# On a lent GPU machine (no network; benchmarks/.work carried from gpu_prepare.sh): fastai from the carried wheels if it
# does not import, then the gpu preset into $OUT (default /tmp/bench_gpu). About 8 minutes: the preset stops starting
# runs after 400 s of them, and `timeout` ends everything at 470 s (the results file is written after every run).
set -uo pipefail
cd "$(dirname "$0")/.."
W=benchmarks/.work; OUT=${OUT:-/tmp/bench_gpu}
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader || true
if ! python -c 'import fastai' 2>/dev/null; then
  pip install -q --no-deps --target $W/site $W/wheels/*.whl || exit 1
  export PYTHONPATH=$PWD/$W/site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONWARNINGS=ignore MPLBACKEND=Agg
python -c 'import torch, fastai; print("torch", torch.__version__, "fastai", fastai.__version__, "cuda", torch.cuda.is_available())'
timeout 470 python benchmarks/run.py --preset gpu --data $W/imagenette-160 --out "$OUT"; rc=$?
[ -f "$OUT/bench_gpu.json" ] && python benchmarks/run.py --report "$OUT/bench_gpu.json" > /dev/null
exit $rc
