#!/usr/bin/env bash
# Set up .venv (if needed), run the whole test suite, then check every assignment with the grader
# (solution = full marks, blank release = 0).
# Usage: bash scripts/test.sh [pytest args...]     (slow tests: bash scripts/test.sh -m slow)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
# Train the solutions' models on the reduced course budget (asrlab.course): minutes on two CPU cores.
export ASRLAB_BUDGET=${ASRLAB_BUDGET:-ci}
asrlab-grade validate
python -m pytest "$@"
