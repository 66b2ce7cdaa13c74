#!/usr/bin/env bash
# Sets up this machine: the virtual environment .venv with the project installed in it (the `anpr` command),
# and the Debian packages the chosen use needs.
#
#   ./scripts/setup.sh           running: ONNX Runtime, OpenCV, ZeroMQ, pydantic, PyYAML, tqdm (no TensorFlow)
#   ./scripts/setup.sh --train   also training: TensorFlow, tf2onnx, Pillow, and the fonts the plate renderer draws with
#   ./scripts/setup.sh --test    also the test suite (which trains tiny networks) and the servers its tests start
#
# Safe to run again: it installs only what is missing, and installs again when setup.cfg has changed.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
  "") extras="" ;;
  --train) extras="train" ;;
  --test) extras="test,train" ;;
  *) echo "usage: $0 [--train | --test]" >&2; exit 2 ;;
esac

run_packages=(python3-venv)
# The fonts the renderer draws with and the servers the tests start (--train and --test).
packages=(ffmpeg rtsp-server-perl fonts-dejavu-core fonts-dejavu-extra fonts-liberation2 fonts-freefont-ttf fonts-bebas-neue fonts-opendin fonts-roadgeek chromium mosquitto)

wanted=("${run_packages[@]}")
[ -n "$extras" ] && wanted+=("${packages[@]}")
missing=()
if command -v dpkg >/dev/null; then
  for p in "${wanted[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
else
  echo "not a Debian system: install these yourself if missing: ${wanted[*]}" >&2
fi
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing system packages: ${missing[*]}" >&2
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# .venv/.setup-done has a line "SETUP_CFG_HASH [EXTRAS]" for each install done with this setup.cfg.
stamp=.venv/.setup-done
hash=$(sha256sum setup.cfg | cut -d' ' -f1)
need=${extras%%,*}   # "", "train" or "test"
if ! { [ -f "$stamp" ] && grep -q "^$hash \[.*$need.*\]$" "$stamp"; }; then
  echo "installing the project into .venv${extras:+ with [$extras]}" >&2
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".${extras:+[$extras]}"
  echo "$hash [$extras]" >> "$stamp"
fi
