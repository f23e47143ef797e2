#!/usr/bin/env bash
# Run here, with network, before a GPU machine is lent: what `gpu_run.sh` needs there, in benchmarks/.work (git-ignored,
# 55 MB: carry it). The images: Imagenette-160 as this project keeps it (4000 training, 500 validation JPEGs, 52 MB).
# The wheels: fastai and the pure-Python packages it imports that a PyTorch image usually lacks; plum-dispatch is built
# per Python version, so give the GPU machine's (PYVER=3.11 by default).
set -euo pipefail
cd "$(dirname "$0")/.."
W=benchmarks/.work; PYVER=${PYVER:-3.11}
mkdir -p $W/wheels
[ -d $W/imagenette-160 ] || cp -r ../shared/data/imagenette-160 $W/
pip download -q --no-deps -d $W/wheels fastai==2.8.12 fastcore==2.2.41 fastprogress==1.0.3 fastdownload==0.0.8 \
  fasttransform==0.0.5 beartype==0.23.1 cloudpickle==3.1.3
pip download -q --no-deps -d $W/wheels --only-binary=:all: --python-version "$PYVER" \
  --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 plum-dispatch==2.9.0
du -sh $W
