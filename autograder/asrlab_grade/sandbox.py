"""Inside the sandbox: the scratch folder's inputs and the resource limits.

The boundary itself is the operating system's (see :mod:`asrlab_grade.bwrap`): the process
that imports this module was started by ``bwrap`` in its own namespaces, on a root file
system built from an allowlist. What is left to do in here, before student code runs:

1. copy the job's input files (checkpoint, public data) into the scratch tmpfs;
2. set CPU, address-space, file-size, process-count and core-file limits;
3. install the audit hook of :mod:`asrlab_grade.guard` (a second line, not the boundary).
"""
from __future__ import annotations

import os
import resource
import shutil

# Processes + threads the sandbox may own (torch starts a few threads). Counted per user
# namespace, so per sandbox; the kernel does not apply it to a sandbox whose host user is root.
NPROC_LIMIT = 256


def copy_inputs(src: str, dest: str) -> None:
    """Copy the regular files and folders under ``src`` into ``dest`` (links are skipped)."""
    for entry in os.scandir(src):
        target = os.path.join(dest, entry.name)
        if entry.is_file(follow_symlinks=False):
            shutil.copyfile(entry.path, target)
        elif entry.is_dir(follow_symlinks=False):
            os.makedirs(target, exist_ok=True)
            copy_inputs(entry.path, target)


def set_limits(cpu_s: int, memory_mb: int, disk_mb: int) -> None:
    """CPU seconds, address space (on top of what is mapped now), file size, processes."""
    def cap(which: int, value: int) -> None:
        _, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))

    cap(resource.RLIMIT_CPU, max(1, int(cpu_s)))
    cap(resource.RLIMIT_AS, _mapped_bytes() + memory_mb * 2**20)
    cap(resource.RLIMIT_FSIZE, disk_mb * 2**20)
    cap(resource.RLIMIT_CORE, 0)
    cap(resource.RLIMIT_NPROC, NPROC_LIMIT)


def _mapped_bytes() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 2 * 2**30
