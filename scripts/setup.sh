#!/usr/bin/env bash
# Create .venv with everything asrlab needs for development, tests and the demo.
# Usage: bash scripts/setup.sh            (idempotent; PYTHON=python3.11 to choose the interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
# Install the CPU torch wheel first: without it pip resolves "torch>=2.2" to a multi-GB CUDA build.
python -c "import torch" 2>/dev/null || python -m pip install -q torch==2.13.0
python -m pip install -q -e "./shared[dev,hf,project]" -e "./autograder[otter]"
# kenlm (the `lm` extra) builds from source (about a minute): asrlab.lm queries it when present. Optional:
# without it asrlab.lm uses its own Python n-gram scorer and the kenlm tests are skipped.
python -c "import kenlm" 2>/dev/null || python -m pip install -q kenlm \
  || echo "setup: kenlm did not build; asrlab.lm falls back to its Python n-gram scorer" >&2
