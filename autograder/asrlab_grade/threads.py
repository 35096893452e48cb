"""Share the CPU cores between parallel processes: how many run at once, how many threads each.

Two torch processes that each use every core spin-wait on each other's cores and run many times
slower than one after the other. Every process started in parallel therefore gets
``cores // processes`` threads (at least one), and no more processes run at once than there are
cores, so the threads of all of them never add up to more than the cores.

Usage::

    plan = plan_threads(wanted=4)                 # e.g. on 2 cores: Plan(processes=2, threads=1)
    env = dict(os.environ, **thread_env(plan.threads))
"""
from __future__ import annotations

import os
from typing import Dict, NamedTuple, Optional

# Libraries that size their thread pools from the environment when they start (torch reads OMP_NUM_THREADS).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


class Plan(NamedTuple):
    """``processes`` run at once, each with ``threads`` threads; ``processes * threads <= cores``."""

    processes: int
    threads: int


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def plan_threads(wanted: int, cores: Optional[int] = None, min_threads: int = 1) -> Plan:
    """How many of ``wanted`` parallel processes to run at once, and the threads of each.

    Parameters
    ----------
    wanted : processes the caller would like to run at once (>= 1).
    cores : cores to share (default: :func:`available_cores`).
    min_threads : the fewest threads a process should get; fewer processes run at once to keep it
        (never fewer than one process).

    Returns
    -------
    Plan
        ``processes = min(wanted, max(1, cores // min_threads))`` and ``threads = max(1, cores // processes)``.
    """
    if wanted < 1 or min_threads < 1:
        raise ValueError(f"plan_threads: wanted and min_threads must be >= 1, got {wanted} and {min_threads}")
    cores = available_cores() if cores is None else cores
    if cores < 1:
        raise ValueError(f"plan_threads: cores must be >= 1, got {cores}")
    processes = min(wanted, max(1, cores // min_threads))
    return Plan(processes, max(1, cores // processes))


def thread_env(threads: int) -> Dict[str, str]:
    """Environment variables that size OpenMP / BLAS / torch thread pools to ``threads``."""
    if threads < 1:
        raise ValueError(f"thread_env: threads must be >= 1, got {threads}")
    return {name: str(threads) for name in THREAD_VARIABLES}


def environ_with_threads(threads: Optional[int], **extra: str) -> Dict[str, str]:
    """This process' environment for a child process, its thread pools sized to ``threads`` when given
    (else the libraries' own choice), plus ``extra`` variables."""
    return {**os.environ, **(thread_env(threads) if threads else {}), **extra}
