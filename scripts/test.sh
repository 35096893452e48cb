#!/usr/bin/env bash
# Set up .venv (if needed), run the fast test suite, then check every assignment with the grader
# (solution = full marks, blank release = 0).
# Usage: bash scripts/test.sh [pytest args...]     (slow tests: bash scripts/test.sh -m slow)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
# The fast checks first, so that a failure there surfaces before the long run. With two cores and no paths
# given, the tests run as two halves at once, each pinned to a core of its own (the grader's sandboxes size their
# thread pools from the cores they may use, so the two never oversubscribe the machine): the library's tests and
# the grader's release/export tests (fresh Colab-like environments, otter) on one, the grader's other tests on
# the other.
cores=($(python -c "import os; print(*sorted(os.sched_getaffinity(0)))"))
paths_given=0
for arg in "$@"; do [[ "$arg" == -* ]] || paths_given=1; done
# pytest pinned to one core; "no tests selected" (exit 5, e.g. a -m filter that matches none of a half) passes
pinned() { local core=$1; shift; OMP_NUM_THREADS=1 taskset -c "$core" python -m pytest "$@" || (( $? == 5 )); }
if (( ${#cores[@]} >= 2 && paths_given == 0 )) && command -v taskset >/dev/null; then
  exports=(autograder/tests/test_releases.py autograder/tests/test_release.py autograder/tests/test_otter_export.py)
  log=$(mktemp)
  (
    set +e
    pinned "${cores[0]}" "$@" shared/tests; library=$?
    pinned "${cores[0]}" "$@" "${exports[@]}"; grader_exports=$?
    (( library == 0 && grader_exports == 0 ))
  ) >"$log" 2>&1 & first=$!
  status=0
  pinned "${cores[1]}" "$@" autograder/tests "${exports[@]/#/--ignore=}" || status=$?
  wait "$first" || status=$?
  echo "--- shared/tests, then ${exports[*]}"; cat "$log"; rm -f "$log"
  (( status == 0 )) || exit "$status"
else
  python -m pytest "$@"
fi
# Train the solutions' models on the reduced course budget (asrlab.course): minutes on two CPU cores.
# validate runs two assignments at a time with one thread each, prints a line per executed cell and a
# heartbeat while a long cell (training) runs; --exports also grades each solution (with the checkpoints it
# just trained) and blank release through the otter-grader and Gradescope exports.
export ASRLAB_BUDGET=${ASRLAB_BUDGET:-ci}
asrlab-grade validate --exports
