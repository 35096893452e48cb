"""The sandbox's command line, run directly: environment, file system, nested namespaces."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from asrlab_grade.bwrap import (JOB_DIR, SCRATCH, SandboxSpec, check_bwrap, covered_dirs,
                                default_allowlist, sandbox_env)


@pytest.fixture(scope="module")
def spec() -> SandboxSpec:
    return SandboxSpec(check_bwrap(), default_allowlist(), covered_dirs(), disk_mb=8)


def run(spec: SandboxSpec, job: Path, *argv: str) -> subprocess.CompletedProcess:
    return spec.run(str(job), list(argv), capture_output=True, text=True, timeout=60)


def test_environment_is_only_what_the_job_needs(spec, tmp_path, monkeypatch):
    monkeypatch.setenv("ASRLAB_GRADE_HIDDEN_SEED", "77")
    res = run(spec, tmp_path, "/usr/bin/env")
    env = dict(line.split("=", 1) for line in res.stdout.splitlines())
    env.pop("PWD", None)  # set by env's shell-less start from the working directory
    assert res.returncode == 0 and set(env) == set(sandbox_env()) and env["HOME"] == SCRATCH


def test_file_system_is_the_allowlist(spec, tmp_path):
    (tmp_path / "input.txt").write_text("job-input\n")
    outside = Path(__file__).resolve()      # the course folder is not on the allowlist
    script = (f"cat {JOB_DIR}/input.txt; ls -A {covered_dirs()[0]} | wc -l; "
              f"touch {JOB_DIR}/x 2>/dev/null || echo read-only; "
              f"test -e {outside} || echo no-course; test -e /srv || echo no-srv; test -e /etc/passwd || echo no-etc; "
              f"head -c 10000000 /dev/zero > {SCRATCH}/big 2>/dev/null || echo scratch-full")
    res = run(spec, tmp_path, "/bin/sh", "-c", script)
    assert res.stdout.split() == ["job-input", "0", "read-only", "no-course", "no-srv", "no-etc", "scratch-full"], \
        res.stdout + res.stderr


def test_no_nested_user_namespaces(spec, tmp_path):
    if not os.path.exists("/usr/bin/unshare"):
        pytest.skip("util-linux unshare is not installed")
    assert run(spec, tmp_path, "/usr/bin/unshare", "-U", "true").returncode != 0
