"""The sandbox's system-call filter: a classic-BPF seccomp program, assembled here with ``struct``.

``bwrap --seccomp FD`` reads the program from a file descriptor and installs it just before
it starts the worker, so every process in the sandbox runs under it (filters are inherited
and cannot be removed). The program

1. checks ``seccomp_data.arch``: a system call made through another ABI than the host's
   (32-bit ``int 0x80`` calls on x86_64, AArch32 calls on arm64) kills the process, since
   its numbers would mean other calls;
2. on x86_64 refuses the x32 ABI (numbers with bit 30 set) with ``EPERM``;
3. answers ``EPERM`` to the calls of :data:`DENIED`, which student code never needs: debugging
   or reading other processes, mounting and namespaces, kernel keyrings, eBPF, perf events,
   userfaultfd, kernel modules and kexec, swap, reboot, process accounting, file handles,
   ``io_uring`` (whose operations would not pass through this filter) and ``personality``
   (e.g. turning off address randomisation);
4. allows everything else.

Only x86_64 and aarch64 have a table here (:data:`SYSCALLS`). On another machine
:func:`host_program` returns ``None`` and sandboxes run without the filter; the run's
``isolation`` record then says ``"seccomp": false`` with the reason.
"""
from __future__ import annotations

import errno
import platform
import struct
from typing import Dict, List, Optional, Tuple

# BPF instruction classes and modes (linux/bpf_common.h).
BPF_LD_W_ABS = 0x00 | 0x00 | 0x20      # BPF_LD | BPF_W | BPF_ABS: A = the 32-bit word at k
BPF_JEQ_K = 0x05 | 0x10 | 0x00         # BPF_JMP | BPF_JEQ | BPF_K
BPF_JGE_K = 0x05 | 0x30 | 0x00         # BPF_JMP | BPF_JGE | BPF_K
BPF_RET_K = 0x06 | 0x00                # BPF_RET | BPF_K
# Return values (linux/seccomp.h).
SECCOMP_RET_KILL_PROCESS = 0x80000000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_ALLOW = 0x7FFF0000
# Offsets in struct seccomp_data {int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6];}.
OFFSET_NR = 0
OFFSET_ARCH = 4
# AUDIT_ARCH_* values (linux/audit.h) and the x32 marker bit (asm/unistd.h).
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
X32_SYSCALL_BIT = 0x40000000
# One struct sock_filter: __u16 code, __u8 jt, __u8 jf, __u32 k (native byte order).
INSTRUCTION = struct.Struct("=HBBI")

# The refused calls and their numbers per architecture (x86_64: asm/unistd_64.h; aarch64: the
# generic table, asm-generic/unistd.h).
SYSCALLS: Dict[str, Dict[str, int]] = {
    "x86_64": {
        "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311,
        "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161,
        "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432,
        "fspick": 433, "mount_setattr": 442, "unshare": 272, "setns": 308,
        "keyctl": 250, "add_key": 248, "request_key": 249,
        "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
        "kexec_load": 246, "kexec_file_load": 320,
        "init_module": 175, "finit_module": 313, "delete_module": 176,
        "swapon": 167, "swapoff": 168, "reboot": 169, "acct": 163, "syslog": 103,
        "open_by_handle_at": 304, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
        "personality": 135,
    },
    "aarch64": {
        "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271,
        "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51,
        "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432,
        "fspick": 433, "mount_setattr": 442, "unshare": 97, "setns": 268,
        "keyctl": 219, "add_key": 217, "request_key": 218,
        "bpf": 280, "perf_event_open": 241, "userfaultfd": 282,
        "kexec_load": 104, "kexec_file_load": 294,
        "init_module": 105, "finit_module": 273, "delete_module": 106,
        "swapon": 224, "swapoff": 225, "reboot": 142, "acct": 89, "syslog": 116,
        "open_by_handle_at": 265, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
        "personality": 92,
    },
}
DENIED: Tuple[str, ...] = tuple(SYSCALLS["x86_64"])


def host_arch() -> str:
    """The machine name as :data:`SYSCALLS` spells it (``arm64`` is read as ``aarch64``)."""
    machine = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)


def _op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return INSTRUCTION.pack(code, jt, jf, k)


def program(arch: str) -> bytes:
    """The filter for ``arch`` (``"x86_64"`` or ``"aarch64"``) as bwrap reads it.

    Returns
    -------
    bytes
        ``8 * n`` bytes: ``n`` packed ``struct sock_filter`` instructions.

    Raises
    ------
    ValueError
        For an architecture without a system-call table here.
    """
    if arch not in SYSCALLS:
        raise ValueError(f"no seccomp system-call table for {arch!r}; known: {', '.join(sorted(SYSCALLS))}")
    numbers = sorted(set(SYSCALLS[arch][name] for name in DENIED))
    deny = SECCOMP_RET_ERRNO | errno.EPERM
    ops: List[bytes] = [_op(BPF_LD_W_ABS, OFFSET_ARCH),
                        _op(BPF_JEQ_K, AUDIT_ARCH[arch], jt=1),
                        _op(BPF_RET_K, SECCOMP_RET_KILL_PROCESS),
                        _op(BPF_LD_W_ABS, OFFSET_NR)]
    if arch == "x86_64":  # jump over the list and the allow to the deny
        ops.append(_op(BPF_JGE_K, X32_SYSCALL_BIT, jt=len(numbers) + 1))
    for i, nr in enumerate(numbers):  # jt: the rest of the list, then the allow
        ops.append(_op(BPF_JEQ_K, nr, jt=len(numbers) - i))
    ops += [_op(BPF_RET_K, SECCOMP_RET_ALLOW), _op(BPF_RET_K, deny)]
    return b"".join(ops)


def host_program() -> Optional[bytes]:
    """The filter for this machine, or ``None`` where :data:`SYSCALLS` has no table for it."""
    arch = host_arch()
    return program(arch) if arch in SYSCALLS else None


def unavailable_note() -> str:
    """Why sandboxes on this machine run without the filter (see :func:`host_program`)."""
    return (f"no seccomp filter: no system-call table for {host_arch()!r} "
            f"(known: {', '.join(sorted(SYSCALLS))})")
