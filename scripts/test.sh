#!/usr/bin/env bash
# Set up .venv (if needed), run the fast test suite, then check every assignment with the grader
# (solution = full marks, blank release = 0).
# Usage: bash scripts/test.sh [pytest args...]     (slow tests: bash scripts/test.sh -m slow)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
# The fast checks first (about a minute), so that a failure there surfaces before the long run.
python -m pytest "$@"
# Train the solutions' models on the reduced course budget (asrlab.course): minutes on two CPU cores.
# validate prints a line per executed cell and a heartbeat while a long cell (training) runs; --exports
# also grades each solution (with the checkpoints it just trained) and blank release through the otter-grader
# and Gradescope exports.
export ASRLAB_BUDGET=${ASRLAB_BUDGET:-ci}
asrlab-grade validate --exports
