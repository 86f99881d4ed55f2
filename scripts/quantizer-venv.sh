#!/usr/bin/env bash
# Idempotent: a venv with llm-compressor (requirements/quantizer.txt), which the tests use to
# make quantized copies of the embedded 270M (tests/quant/make_checkpoints.py); they call it
# only when those copies are not in the gemma-serve cache yet. ~4 minutes and ~1.5 GB once,
# kept beside that cache (not in the checkout); its pins conflict with the serving venv's.
# Prints the venv's python.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
VENV=${GEMMA_SERVE_CACHE:-$HOME/.cache/gemma-serve}/venv-quant
STAMP=$VENV/.stamp
want=$(cat requirements/quantizer.txt scripts/quantizer-venv.sh | sha256sum | cut -d' ' -f1)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
  echo "==> creating $VENV with llm-compressor for the quantized-checkpoint tests (once)" >&2
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -r requirements/quantizer.txt
  "$VENV/bin/python" -c "import llmcompressor, compressed_tensors" 2>/dev/null \
    || { echo "quantizer-venv: llmcompressor does not import" >&2; exit 1; }
  echo "$want" > "$STAMP"
fi
echo "$VENV/bin/python"
