"""Isolation of the process that runs student code (used inside the sandbox child only).

Layers, outermost first; each one that the OS refuses is reported, the others still apply:

1. Namespaces (Linux, root or unprivileged user namespaces): a private network namespace
   with no interfaces up (no network at all) and a private mount namespace in which the
   course folder (solutions, hidden tests, gradebook, other submissions), the grading
   output and every other job's folder are covered by empty read-only tmpfs mounts. Only
   the Python environment and the student library stay visible. The scratch working
   directory is a fresh size-limited tmpfs that holds only the files copied into it.
2. Privileges: when started as root the child switches to ``nobody`` after mounting, so
   it can neither undo the mounts nor write anything the grader owns.
3. Resource limits: CPU seconds, address space, file size, process count, no core files.
4. The audit hook and forbidden-call stubs of :mod:`asrlab_grade.guard`.

Layer 4 alone is what protects a machine that refuses namespaces; graders should run
``asrlab-grade`` as root in a container (the output says which layers were active).
"""
from __future__ import annotations

import ctypes
import os
import resource
import shutil
from typing import Any, Dict, Optional, Sequence

# unshare(2)/mount(2) flags from <sched.h> and <sys/mount.h>.
CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_REMOUNT = 32
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_PRIVATE = 1 << 18

NOBODY = 65534
# The student's working directory inside the sandbox's scratch tmpfs.
SCRATCH_NAME = "work"
# Processes + threads the unprivileged sandbox user may own (torch spawns a few threads).
NPROC_LIMIT = 256


_libc = ctypes.CDLL(None, use_errno=True)


def _mount(src: Optional[str], target: str, fstype: Optional[str], flags: int, data: Optional[str]) -> None:
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    if _libc.mount(enc(src), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target}: {os.strerror(err)}")


def _unshare(flags: int) -> bool:
    return _libc.unshare(ctypes.c_int(flags)) == 0


def _enter_user_namespace(flags: int) -> bool:
    """Unprivileged namespaces: become root of a new user namespace mapped to our uid."""
    uid, gid = os.getuid(), os.getgid()
    if not _unshare(CLONE_NEWUSER | flags):
        return False
    for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)
    return True


def probe_user_namespaces() -> bool:
    """Whether unprivileged namespaces fully work here (tried in a throw-away child).

    Some systems allow ``unshare(CLONE_NEWUSER)`` but then refuse the uid map or mounts,
    which would leave a sandbox half set up; the worker probes once and children only
    use user namespaces when the whole sequence succeeded.
    """
    if os.geteuid() == 0:
        return False
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            if _enter_user_namespace(CLONE_NEWNS | CLONE_NEWNET):
                _mount(None, "/", None, MS_REC | MS_PRIVATE, None)
                _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=4k")
                code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


# Set by the warm worker from probe_user_namespaces() before it forks sandboxes.
USERNS_OK = False


def _hide(path: str, keep: Sequence[str]) -> None:
    """Cover ``path`` with an empty read-only tmpfs, except the ``keep`` paths inside it."""
    if not os.path.lexists(path):
        return
    inner = [k for k in keep if k == path or k.startswith(path.rstrip("/") + "/")]
    if path in inner:
        return
    if inner and os.path.isdir(path) and not os.path.islink(path):
        for name in os.listdir(path):
            _hide(os.path.join(path, name), inner)
        return
    if os.path.isdir(path):
        _mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=0555")
    elif os.path.isfile(path):
        _mount("/dev/null", path, None, MS_BIND, None)


def isolate(hide: Sequence[str], keep: Sequence[str], run_root: str, job_dir: str,
            disk_mb: int, namespaces: bool = True) -> Dict[str, Any]:
    """Apply namespaces and mounts; return what was applied and the scratch directory.

    ``run_root`` holds every job folder of this grading run. With a mount namespace a
    fresh tmpfs covers it, so this child sees no job folder at all (not even its own) and
    its scratch is ``run_root/work`` inside that tmpfs. Without one, the scratch is
    ``job_dir/work`` and the audit hook keeps the other folders out of reach. Files in
    ``job_dir/files`` (student checkpoint, public data) are copied into the scratch.
    """
    report: Dict[str, Any] = {"netns": False, "mountns": False, "user": os.getuid()}
    is_root = os.geteuid() == 0
    flags = CLONE_NEWNS | CLONE_NEWNET
    if not namespaces:
        pass
    elif is_root and _unshare(flags):
        report["netns"] = report["mountns"] = True
    elif not is_root and USERNS_OK and _enter_user_namespace(flags):
        report["netns"] = report["mountns"] = True
    # Keep an fd on the inputs: the folder disappears under the mounts below.
    files_fd = os.open(os.path.join(job_dir, "files"), os.O_RDONLY | os.O_DIRECTORY)
    scratch = os.path.join(job_dir, SCRATCH_NAME)
    if report["mountns"]:
        try:
            _mount(None, "/", None, MS_REC | MS_PRIVATE, None)
            for path in hide:
                _hide(path, keep)
            _mount("tmpfs", run_root, "tmpfs", MS_NOSUID | MS_NODEV, f"size={disk_mb}m,mode=0755")
            scratch = os.path.join(run_root, SCRATCH_NAME)
            if is_root:
                stage = os.path.join(run_root, ".stage")
                for path in keep:
                    _expose(path, stage)
        except OSError as e:
            report["mountns"] = False
            report["mount_error"] = str(e)
    os.makedirs(scratch, exist_ok=True)
    _copy_tree_from_fd(files_fd, scratch)
    os.close(files_fd)
    report["scratch"] = scratch
    return report


def _expose(path: str, stage: str) -> None:
    """Let ``nobody`` reach ``path`` when an ancestor is private (e.g. Python under /root).

    The private ancestor is replaced by a world-readable tmpfs holding only the next
    folder on the way, moved back in from a staging bind mount; everything else in that
    ancestor stays invisible.
    """
    parts = os.path.realpath(path).strip("/").split("/")
    for depth in range(1, len(parts)):
        ancestor = "/" + "/".join(parts[:depth])
        child = os.path.join(ancestor, parts[depth])
        if os.stat(ancestor).st_mode & 0o001 or not os.path.exists(child):
            continue
        os.makedirs(stage, exist_ok=True)
        hold = os.path.join(stage, str(len(os.listdir(stage))))
        os.mkdir(hold)
        _mount(child, hold, None, MS_BIND | MS_REC, None)
        _mount("tmpfs", ancestor, "tmpfs", MS_NOSUID | MS_NODEV, "size=4k,mode=0755")
        os.mkdir(child)
        _mount(hold, child, None, MS_MOVE, None)
        _mount(None, ancestor, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=0755")


def _copy_tree_from_fd(dir_fd: int, dest: str) -> None:
    for entry in os.scandir(dir_fd):
        if entry.is_file(follow_symlinks=False):
            src_fd = os.open(entry.name, os.O_RDONLY, dir_fd=dir_fd)
            with os.fdopen(src_fd, "rb") as src, open(os.path.join(dest, entry.name), "wb") as dst:
                shutil.copyfileobj(src, dst)
        elif entry.is_dir(follow_symlinks=False):
            sub = os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=dir_fd)
            os.makedirs(os.path.join(dest, entry.name), exist_ok=True)
            _copy_tree_from_fd(sub, os.path.join(dest, entry.name))
            os.close(sub)


def drop_privileges(scratch: str, report: Dict[str, Any]) -> None:
    """Become ``nobody`` when root inside a private mount namespace (else stay as is)."""
    if os.geteuid() != 0 or not report.get("mountns") or report.get("user") != 0:
        return
    for root, dirs, files in os.walk(scratch):
        for name in dirs + files:
            os.chown(os.path.join(root, name), NOBODY, NOBODY)
    os.chown(scratch, NOBODY, NOBODY)
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)
    report["user"] = NOBODY


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
    if os.geteuid() != 0:  # root ignores RLIMIT_NPROC; nobody does not
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


