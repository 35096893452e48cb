"""An exclusive lock between processes on one machine, for work that must happen once at a time.

Usage::

    from asrlab.locks import exclusive
    with exclusive(root.parent / f"{root.name}.lock"):   # a second process waits here
        make_corpus(root)                                # and then finds it made

POSIX ``flock`` on the lock file (released when the process ends, even if it crashes); where the OS
has none (Windows) the block runs unlocked.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_file`` (created with its folder if missing) for the block."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    lock_file = Path(lock_file)
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
