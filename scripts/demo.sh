#!/usr/bin/env bash
# The main job on the embedded synthetic data, the loop a course lives by (a few minutes on two cores):
#   1. generate both synthetic corpora and score the outside baseline (pocketsphinx) on the test split;
#   2. train a course model (the reference BiLSTM-CTC) and score it on the same split;
#   3. release the ctc assignment (nbgrader release, package source, library wheel);
#   4. grade four sample submissions (solution, blank, a wrong answer, a cheater) in the sandbox.
# Usage: bash scripts/demo.sh [asrlab demo options, e.g. --train-epochs 10]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
asrlab demo --out data --hours 1 --words-per-list 10 --train-epochs 8 "$@"
echo; echo "== Release: asrlab-grade release ctc"
asrlab-grade release ctc
echo; echo "== Grading: asrlab-grade demo"
asrlab-grade demo --out demo-grading
