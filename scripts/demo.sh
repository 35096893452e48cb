#!/usr/bin/env bash
# Set up .venv (if needed) and run the main job on the embedded synthetic data:
# generate both synthetic corpora, print their statistics and the pocketsphinx baseline.
# Usage: bash scripts/demo.sh [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
asrlab demo "$@"
