#!/usr/bin/env bash
# Set up .venv (if needed), run the whole test suite, then check every assignment with the grader
# (solution = full marks, blank release = 0).
# Usage: bash scripts/test.sh [pytest args...]     (slow tests: bash scripts/test.sh -m slow)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
asrlab-grade validate
python -m pytest "$@"
