"""The sandbox's command line, run directly: environment, file system, nested namespaces."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from asrlab_grade.bwrap import (JOB_DIR, SCRATCH, SandboxSpec, check_bwrap, covered_dirs,
                                default_allowlist, hidden_dirs, sandbox_env)
from asrlab_grade.task import Assignment


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


def test_task_modules_and_their_cases_are_covered(spec, tmp_path):
    covered = covered_dirs()
    assert {Path(d).name for d in covered} == {"tasks", "cases"}
    assert all(any(Path(d).glob("*.py")) for d in covered)      # on the host they hold the hidden modules
    res = run(spec, tmp_path, "/bin/sh", "-c", "; ".join(f"ls -A {d} | wc -l" for d in covered))
    assert res.stdout.split() == ["0"] * len(covered), res.stdout + res.stderr


def test_no_nested_user_namespaces(spec, tmp_path):
    if not os.path.exists("/usr/bin/unshare"):
        pytest.skip("util-linux unshare is not installed")
    assert run(spec, tmp_path, "/usr/bin/unshare", "-U", "true").returncode != 0


def test_hidden_package_is_absent(tmp_path):
    hidden = hidden_dirs(["asrlab.ctc"])
    spec = SandboxSpec(check_bwrap(), default_allowlist(), covered_dirs(), disk_mb=8, hidden=hidden)
    folder = hidden["asrlab.ctc"]
    script = (f"import os\n"
              f"try:\n    import asrlab.ctc\n    print('imported')\nexcept ImportError as e:\n    print(type(e).__name__)\n"
              f"print(os.listdir({folder!r}), os.path.exists({folder!r} + '/reference.py'))\n"
              f"import asrlab.decoding, asrlab.checks\nprint('library ok')\n")
    res = spec.run(str(tmp_path), [sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert res.stdout.splitlines() == ["ModuleNotFoundError", "['__init__.py'] False", "library ok"], \
        res.stdout + res.stderr[-2000:]


def test_hidden_package_must_exist_and_not_be_preloaded():
    with pytest.raises(ValueError, match="asrlab.nope.*hidden_packages"):
        hidden_dirs(["asrlab.nope"])
    with pytest.raises(ValueError, match="asrlab.ctc.reference.*remove them from preload"):
        Assignment(name="x", tasks=(), preload=("numpy", "asrlab.ctc.reference"), hidden_packages=("asrlab.ctc",))
