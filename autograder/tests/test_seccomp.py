"""The system-call filter: the assembled program itself, then its effect inside a sandbox."""
from __future__ import annotations

import dataclasses
import errno
import struct
import sys
from pathlib import Path

import pytest

from asrlab_grade import seccomp
from asrlab_grade.bwrap import SandboxSpec, check_bwrap, covered_dirs, default_allowlist
from asrlab_grade.session import Launcher

DENY = seccomp.SECCOMP_RET_ERRNO | errno.EPERM
AUDIT_ARCH_I386 = 0x40000003


def evaluate(program: bytes, arch: int, nr: int) -> int:
    """What the kernel's classic-BPF interpreter returns for a call ``nr`` made through ``arch``."""
    ops = [seccomp.INSTRUCTION.unpack_from(program, i) for i in range(0, len(program), 8)]
    data = struct.pack("=iI", nr, arch) + bytes(56)
    pc, acc = 0, 0
    while True:
        code, jt, jf, k = ops[pc]
        if code == seccomp.BPF_LD_W_ABS:
            acc = struct.unpack_from("=I", data, k)[0]
        elif code in (seccomp.BPF_JEQ_K, seccomp.BPF_JGE_K):
            hit = acc == k if code == seccomp.BPF_JEQ_K else acc >= k
            pc += jt if hit else jf
        elif code == seccomp.BPF_RET_K:
            return k
        else:
            raise AssertionError(f"unknown instruction {code:#x}")
        pc += 1
        assert pc < len(ops), "the program runs off its end"


@pytest.mark.parametrize("arch", sorted(seccomp.SYSCALLS))
def test_program_denies_the_list_and_allows_the_rest(arch):
    program, own = seccomp.program(arch), seccomp.AUDIT_ARCH[arch]
    assert len(program) % 8 == 0 and len(program) // 8 < 4096
    denied = set(seccomp.SYSCALLS[arch].values())
    assert set(seccomp.SYSCALLS[arch]) == set(seccomp.DENIED)
    for nr in denied:
        assert evaluate(program, own, nr) == DENY, nr
    for nr in set(range(460)) - denied:
        assert evaluate(program, own, nr) == seccomp.SECCOMP_RET_ALLOW, nr
    assert evaluate(program, AUDIT_ARCH_I386, 0) == seccomp.SECCOMP_RET_KILL_PROCESS


def test_x32_calls_are_refused_on_x86_64():
    program = seccomp.program("x86_64")
    read_x32 = seccomp.X32_SYSCALL_BIT | 0
    assert evaluate(program, seccomp.AUDIT_ARCH["x86_64"], read_x32) == DENY


def test_unknown_architecture_is_named():
    with pytest.raises(ValueError, match="riscv64.*aarch64, x86_64"):
        seccomp.program("riscv64")


# ----------------------------------------------------------------------------- inside a sandbox
CALLS = f"""
import ctypes, errno, json
libc = ctypes.CDLL(None, use_errno=True)
out = {{}}
for name, args in (("ptrace", (0, 0, 0, 0)), ("unshare", (0,)), ("keyctl", (0, 0)), ("bpf", (0, 0, 0)),
                   ("io_uring_setup", (1, 0))):
    nr = {seccomp.SYSCALLS.get(seccomp.host_arch(), {})!r}[name]
    ret = libc.syscall(nr, *args)
    out[name] = errno.errorcode.get(ctypes.get_errno(), "?") if ret == -1 else "ok"
print(json.dumps(out))
"""

WORKLOAD = """
import subprocess, threading
import numpy as np
import torch
torch.set_num_threads(2)
child = subprocess.run(["/bin/sh", "-c", "echo child"], capture_output=True, text=True).stdout.strip()
sums = []
threads = [threading.Thread(target=lambda: sums.append(float(np.ones(1000).sum()))) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
x = torch.randn(64, 32, requires_grad=True)
(x @ x.T).logsumexp(dim=1).sum().backward()
print(child, sum(sums), tuple(x.grad.shape))
"""


@pytest.fixture(scope="module")
def spec() -> SandboxSpec:
    if seccomp.host_program() is None:
        pytest.skip(seccomp.unavailable_note())
    return SandboxSpec(check_bwrap(), default_allowlist(), covered_dirs(), disk_mb=64)


def test_denied_calls_fail_with_eperm_in_the_sandbox(spec, tmp_path):
    import json
    res = spec.run(str(tmp_path), [sys.executable, "-c", CALLS], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads(res.stdout) == dict.fromkeys(("ptrace", "unshare", "keyctl", "bpf", "io_uring_setup"), "EPERM")
    # Without the filter the same calls give other answers: the EPERMs above are the filter's.
    res = dataclasses.replace(spec, seccomp=None).run(str(tmp_path), [sys.executable, "-c", CALLS],
                                                      capture_output=True, text=True, timeout=60)
    assert "EPERM" not in json.loads(res.stdout).values(), res.stdout


def test_processes_threads_and_torch_work_under_the_filter(spec, tmp_path):
    pytest.importorskip("torch")
    res = spec.run(str(tmp_path), [sys.executable, "-c", WORKLOAD], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.split() == ["child", "4000.0", "(64,", "32)"]


def test_isolation_record_names_the_filter(spec, tmp_path):
    assert Launcher(Path(tmp_path), spec).isolation()["seccomp"] is True
    record = Launcher(Path(tmp_path), dataclasses.replace(spec, seccomp=None)).isolation()
    assert record["seccomp"] is False and "no seccomp filter" in record["seccomp_note"]


def test_command_refuses_to_start_without_the_filter_descriptor(spec, tmp_path):
    with pytest.raises(ValueError, match="SandboxSpec.popen"):
        spec.command(str(tmp_path), ["true"])
