#!/usr/bin/env bash
# Renders a bank of training windows and trains the plate network on it, on a lent GPU machine, in one command:
#   scripts/device_train.sh BANK_WINDOWS
# run from the repository root there, with `.whl` and `.fonts` carried (both ignored by git, made here first):
#   .whl    the wheels the machine lacks: keras 3.15.1, namex, optree, pydantic 2.14.4, pydantic-core,
#           annotated-types, typing-inspection, typing-extensions (pip download --only-binary=:all: for cp312)
#   .fonts  copies of the fonts: .fonts/sys/usr/share/fonts/... (Debian's) and .fonts/shared (../shared/fonts)
# It trains under KERAS_BACKEND=jax (no TensorFlow there) with configs/train_bank.yaml and leaves in $OUT the kept
# weights (anpr.weights.h5), the run's log.jsonl and this script's whole output (device_train.log); export the
# weights to ONNX where TensorFlow is. Without a GPU (JAX on the CPU) it runs the same, slowly: set OUT and try it
# on a tiny bank, with small epochs in a config of your own (CONFIG=...).
set -euo pipefail
windows=${1:?usage: scripts/device_train.sh BANK_WINDOWS}
config=${CONFIG:-configs/train_bank.yaml}
out=${OUT:?set OUT to the folder the results go to}
bank=${BANK:-/tmp/bank}
run=${RUN:-/tmp/run}
mkdir -p "$out"
exec > >(tee "$out/device_train.log") 2>&1
started=$(date +%s)
if ! python3 -c "import keras, pydantic" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
fi
export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax PYTHONUNBUFFERED=1
python3 -c "import jax, keras; print('jax', jax.__version__, jax.devices(), 'keras', keras.__version__, keras.backend.backend())"
installed=$(date +%s)
python3 -m stream.cli render-bank --config "$config" --out "$bank" --windows "$windows" --workers "${WORKERS:-16}"
rendered=$(date +%s)
python3 -m stream.cli train --config "$config" --bank "$bank" --run-dir "$run" --out "$out/anpr.weights.h5"
trained=$(date +%s)
cp "$run/log.jsonl" "$out/log.jsonl"
echo "timings (s): setup $((installed - started)), render-bank $((rendered - installed)), train $((trained - rendered)), total $((trained - started))"
