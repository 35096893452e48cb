"""The numba cache the sandboxes start from: filled once by the grader, used read-only by each sandbox."""
from __future__ import annotations

import subprocess
import sys

import pytest

from asrlab_grade import jitcache
from asrlab_grade.bwrap import JIT_DIR, SCRATCH, SandboxSpec, check_bwrap, covered_dirs, default_allowlist

pytest.importorskip("librosa")

# Inside the sandbox: copy the cache as the worker does, import librosa's kernels, list what changed.
SCRIPT = f"""
import os, sys
from asrlab_grade.worker import use_jit_cache
own = use_jit_cache({JIT_DIR!r}, {SCRATCH!r})
def files():
    return {{os.path.join(d, f): os.path.getmtime(os.path.join(d, f)) for d, _, fs in os.walk(own) for f in fs}}
before = files()
import librosa.feature.spectral
changed = sorted(p for p, t in files().items() if before.get(p) != t)
print(len(before), len(changed))
"""


@pytest.fixture(scope="module")
def cache():
    """The grader's own cache folder (filled here, or by an earlier grading run on this machine)."""
    return jitcache.prepare(jitcache.LIBROSA_PRELOAD)


def test_assignments_without_librosa_need_no_cache():
    assert jitcache.prepare(("numpy", "torch", "asrlab.ctc")) is None


def test_cache_is_filled_once_and_shared(cache, monkeypatch):
    assert (cache / jitcache.DONE).exists()
    assert any(p.suffix == ".nbi" for p in cache.rglob("*")), "no numba index was written"

    def no_run(*args, **kwargs):
        raise AssertionError("a complete cache was filled again")

    monkeypatch.setattr(subprocess, "run", no_run)
    assert jitcache.prepare(jitcache.LIBROSA_PRELOAD) == cache
    assert jitcache.prepare(("numpy", "torch", *jitcache.LIBROSA_PRELOAD, "h5py")) == cache


def test_a_failed_fill_warns_and_grading_goes_on(tmp_path, monkeypatch):
    monkeypatch.setenv(jitcache.hidden.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(jitcache.sys, "executable", "/bin/false")
    with pytest.warns(UserWarning, match="numba cache failed"):
        assert jitcache.prepare(jitcache.LIBROSA_PRELOAD) is None
    assert not list(tmp_path.iterdir()), "a half-filled cache folder was left behind"


def test_sandbox_loads_kernels_from_the_cache_without_compiling(cache, tmp_path):
    spec = SandboxSpec(check_bwrap(), default_allowlist(), covered_dirs(), disk_mb=64)
    res = spec.run(str(tmp_path), [sys.executable, "-c", SCRIPT], [(str(cache), JIT_DIR)],
                   capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    copied, changed = map(int, res.stdout.split())
    assert copied > 0 and changed == 0, f"{changed} cache files were written: numba compiled in the sandbox"
