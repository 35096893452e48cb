"""Compiled-code caches that sandboxes start from (trusted side).

librosa compiles its numba kernels when its submodules are imported (about 17 s of CPU for
``librosa.feature``) and keeps them in a numba cache. Numba only uses a cache folder it can
write to, and a sandbox sees the Python environment read-only, so without help every sandbox
would compile them again, inside the time limits of the student's first call. Instead the
grader fills a cache once per machine and library versions, by importing the assignment's
preload modules in a trusted process::

    cache = jitcache.prepare(modules)     # the preload list; None when nothing there uses numba

Each sandbox sees that folder read-only and its worker copies it into the sandbox's own
scratch folder before importing anything (:func:`asrlab_grade.worker.main`), so a submission
can only ever change its own copy.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from importlib import metadata
from pathlib import Path
from typing import List, Optional, Sequence

from . import hidden

# Preloaded modules whose import compiles numba kernels.
JIT_PACKAGES = ("librosa", "numba")
# What an assignment that uses librosa preloads. librosa loads its submodules lazily, on first
# use, so the ones with kernels are named; numba.cpython.hashing reads a symbol through ctypes
# on first use, which the sandbox refuses.
LIBROSA_PRELOAD = ("numba", "numba.cpython.hashing", "llvmlite.binding", "librosa", "librosa.util",
                   "librosa.filters", "librosa.core.spectrum", "librosa.feature.spectral")
# The marker written once a cache folder is complete.
DONE = "complete"
PREPARE_TIMEOUT_S = 600.0


def needs_cache(preload: Sequence[str]) -> bool:
    return any(m.split(".")[0] in JIT_PACKAGES for m in preload)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "-"


def _modules(preload: Sequence[str]) -> List[str]:
    """What fills the cache: :data:`LIBROSA_PRELOAD` and any other numba user the preload names."""
    extra = [m for m in preload if needs_cache([m]) and m not in LIBROSA_PRELOAD]
    return [*LIBROSA_PRELOAD, *sorted(extra)]


def cache_path(preload: Sequence[str]) -> Path:
    """The cache folder for these modules, this Python environment and these library versions
    (one folder serves every assignment that preloads :data:`LIBROSA_PRELOAD`)."""
    key = "|".join([os.path.realpath(sys.prefix), sys.version, _version("numba"), _version("librosa"),
                    ",".join(_modules(preload))])
    return hidden.cache_dir() / f"numba-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def prepare(preload: Sequence[str]) -> Optional[Path]:
    """Fill (once) and return the numba cache for ``preload``; None when none of it uses numba.

    When the trusted import itself fails (a broken environment), a warning says so and None is
    returned: grading still works, each sandbox then compiles for itself.
    """
    if not needs_cache(preload):
        return None
    final = cache_path(preload)
    if (final / DONE).exists():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=final.name + "-", dir=final.parent))
    # Like the worker: a module that does not import here is left out, not an error.
    code = ("import importlib, sys\nfor m in sys.argv[1:]:\n    try:\n        importlib.import_module(m)\n"
            "    except Exception:\n        pass\n")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(work), OMP_NUM_THREADS="1")
    res = subprocess.run([sys.executable, "-c", code, *_modules(preload)], env=env, capture_output=True,
                         text=True, timeout=PREPARE_TIMEOUT_S)
    if res.returncode != 0:
        shutil.rmtree(work, ignore_errors=True)
        warnings.warn(f"importing {', '.join(_modules(preload))} to fill the numba cache failed, so every "
                      f"sandbox compiles librosa's kernels itself (slow): {res.stderr.strip()[-800:]}")
        return None
    (work / DONE).write_text("")
    try:
        work.rename(final)
    except OSError:  # another run finished first: use its folder
        shutil.rmtree(work, ignore_errors=True)
    return final
