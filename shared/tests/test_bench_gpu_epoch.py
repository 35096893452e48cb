"""bench/gpu_epoch.py: its batching keeps the audio budget, and its tiny --quick run works on a CPU."""
from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "gpu_epoch.py"


def _bench():
    spec = importlib.util.spec_from_file_location("gpu_epoch", SCRIPT)
    module = sys.modules["gpu_epoch"] = importlib.util.module_from_spec(spec)  # dataclasses look it up there
    spec.loader.exec_module(module)
    return module


def test_batches_cover_the_corpus_once_within_the_budget():
    bench = _bench()
    durations = bench.corpus_durations(2_000, seed=1)
    assert durations.min() >= bench.MIN_SECONDS and durations.max() <= bench.MAX_SECONDS
    assert abs(durations.mean() - bench.MEAN_SECONDS) < 1.0
    for setup in bench.SETUPS:
        plan = bench.batches(durations, setup, seed=0)
        assert sorted(np.concatenate(plan).tolist()) == list(range(len(durations)))
        for ids in plan:
            if setup.max_seconds is not None:  # padded to the longest: never over the budget (unless alone)
                assert len(ids) == 1 or len(ids) * durations[ids].max() <= setup.max_seconds
            if setup.batch_size is not None:
                assert len(ids) <= setup.batch_size


def test_quick_run_on_cpu():
    out = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--device", "cpu", "--threads", "1",
                          "--models", "ctc_training,rnnt"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert re.search(r"^ctc_training .* epoch [\d.]+ s", out.stdout, re.M), out.stdout
    assert re.search(r"^rnnt .* epoch [\d.]+ s", out.stdout, re.M), out.stdout
    assert re.search(r"^ratio: [\d.]+", out.stdout.splitlines()[-1])
