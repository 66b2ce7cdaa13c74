#!/usr/bin/env bash
# One GPU session's training, in one command on a lent GPU machine: renders the bank of windows, then trains the
# window network from scratch
# (configs/train_bank.yaml) and fine-tuned from the shipped weights (configs/train_bank_finetune.yaml) side by side
# on the one GPU, while the bank of plate crops is rendered; then trains the crop reader (configs/train_reader.yaml).
#   OUT=... scripts/device_train.sh WINDOWS CROPS
# run from the repository root there, with `.whl` and `.fonts` carried (both ignored by git, made here first):
#   .whl    the wheels the machine lacks: keras 3.15.1, namex, optree, pydantic 2.14.4, pydantic-core,
#           annotated-types, typing-inspection, typing-extensions (pip download --only-binary=:all: for cp312)
#   .fonts  copies of the fonts: .fonts/sys/usr/share/fonts/... (Debian's) and .fonts/shared (../shared/fonts)
# Leaves in $OUT: scratch.weights.h5, finetune.weights.h5, reader.weights.h5 and each run's log; export them to
# ONNX where TensorFlow is. Without a GPU (JAX on the CPU) it runs the same, slowly: try it on tiny banks with
# CONFIG_SUFFIX naming copies of the three configs with small epochs.
set -uo pipefail
windows=${1:?usage: scripts/device_train.sh WINDOWS CROPS}
crops=${2:?usage: scripts/device_train.sh WINDOWS CROPS}
out=${OUT:?set OUT to the folder the results go to}
work=${WORK:-/tmp/anpr}
suffix=${CONFIG_SUFFIX:-}
mkdir -p "$out" "$work"
started=$(date +%s)
stamp() { echo "[$(( $(date +%s) - started )) s] $*"; }
if ! python3 -c "import keras, pydantic" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
fi
export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_MEM_FRACTION=0.25
python3 -c "import jax, keras; print('jax', jax.__version__, jax.devices(), 'keras', keras.__version__)"
anpr() { python3 -m stream.cli "$@"; }
stamp "render $windows windows"
anpr render-bank --config "configs/train_bank.yaml$suffix" --out "$work/bank" --windows "$windows" --workers 16 > "$out/bank.log" 2>&1
stamp "train the window network: from scratch and fine-tuned"
anpr train --config "configs/train_bank.yaml$suffix" --bank "$work/bank" --run-dir "$work/scratch" \
    --out "$out/scratch.weights.h5" > "$out/scratch.log" 2>&1 &
scratch=$!
anpr train --config "configs/train_bank_finetune.yaml$suffix" --bank "$work/bank" --run-dir "$work/finetune" \
    --out "$out/finetune.weights.h5" > "$out/finetune.log" 2>&1 &
finetune=$!
stamp "render $crops crops"
anpr render-bank --kind crops --config "configs/train_reader.yaml$suffix" --out "$work/crops" --windows "$crops" \
    --workers 12 >> "$out/bank.log" 2>&1
stamp "train the crop reader"
anpr train-reader --config "configs/train_reader.yaml$suffix" --bank "$work/crops" --run-dir "$work/reader" \
    --out "$out/reader.weights.h5" > "$out/reader.log" 2>&1 &
reader=$!
wait $scratch; stamp "scratch done: $?"
wait $finetune; stamp "finetune done: $?"
wait $reader; stamp "reader done: $?"
for run in scratch finetune reader; do cat "$work/$run/log.jsonl" >> "$out/logs.jsonl" 2>/dev/null; done
ls -la "$out"
