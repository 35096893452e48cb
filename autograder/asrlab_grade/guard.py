"""The audit hook and forbidden-call stubs installed in the sandbox before student code runs.

``sys.addaudithook`` offers no way to remove a hook, and everything the hook uses is bound
in its closure, so student code cannot switch it off or rewire it. It refuses process
creation, signals, sockets, ctypes, frame tracing, ``gc`` object walks, limit changes, and
file access outside the scratch folder or inside a hidden path. Forbidden functions are
replaced by stubs that raise the ``asrlab.forbidden`` audit event, which the hook reports
to the grader and turns into an error.
"""
from __future__ import annotations

import os
import sys
import types
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence

AUDIT_EVENT = "asrlab.forbidden"


class ForbiddenCallError(PermissionError):
    """Raised inside the sandbox when student code calls a forbidden function."""


def _blocked_stub(name: str) -> types.CodeType:
    """Code for a function body that raises the forbidden-call audit event.

    ``sys.audit`` is stored in the code object's constants, not looked up by name, so
    rebinding globals or builtins cannot turn the stub into a no-op.
    """
    src = f"def _stub(*args, **kwargs):\n    return (None)({AUDIT_EVENT!r}, {name!r})\n"
    ns: Dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(src, f"<forbidden {name}>", "exec"), ns)
    code = ns["_stub"].__code__
    return code.replace(co_consts=tuple(sys.audit if c is None else c for c in code.co_consts))


def arm_forbidden(names: Sequence[str]) -> List[str]:
    """Replace each forbidden callable by a stub; return names that could not be armed.

    ``aten::op`` overrides the torch operator's kernels in the dispatcher, which every
    Python path (``F.ctc_loss``, ``torch.ctc_loss``, ``torch.ops.aten``) goes through.
    A Python function has its ``__code__`` replaced in place, so aliases imported before
    are blocked too. Other callables are replaced on their module.
    """
    missing: List[str] = []
    for name in names:
        if name in _ARMED:
            continue
        try:
            if name.startswith("aten::"):
                _arm_torch_op(name)
            else:
                _arm_python(name)
        except Exception:  # noqa: BLE001 - a library that is absent cannot be called either
            missing.append(name)
            continue
        _ARMED.add(name)
    return missing


# Names already replaced in this process (the warm worker arms them once, before forking).
_ARMED: set = set()


def _arm_torch_op(name: str) -> None:
    """Override every overload of the operator with a kernel that refuses to run.

    The registration handle is made with the dispatcher's own binding, not
    ``torch.library.Library``, whose objects are listed by ``gc`` and whose finalizers sit in
    ``weakref.finalize``'s registry: calling either would remove the override. Here the handle
    gets one extra native reference and its last Python name is dropped, so no Python object
    leads to it (the handle is not tracked by ``gc`` either) and nothing can release it.
    """
    import ctypes

    import torch
    op = name.split("::", 1)[1]
    packet = getattr(torch.ops.aten, op)
    handle = _dispatch_handle(torch)

    def kernel(*args: Any, **kwargs: Any) -> Any:
        sys.audit(AUDIT_EVENT, name)
        raise ForbiddenCallError(f"{name} is not allowed here")

    armed = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for overload in packet.overloads():
            qual = op if overload == "default" else f"{op}.{overload}"
            for key in ("CompositeImplicitAutograd", "CPU", "CUDA", "Autograd", "Meta"):
                try:
                    handle.impl(qual, key, kernel, False)
                    armed += 1
                except Exception:  # noqa: BLE001 - not every op has every key
                    pass
    if not armed:
        raise RuntimeError(f"could not override {name}")
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(handle))  # kept alive by no Python object
    del handle


def _dispatch_handle(torch: Any) -> Any:
    """A registration handle for the ``aten`` namespace (``torch.library``'s own kind)."""
    return torch._C._dispatch_library("IMPL", "aten", "", "<asrlab_grade.guard>", 0)


def _arm_python(name: str) -> None:
    import importlib
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        owner = obj
        for attr in parts[cut:]:
            owner, obj = obj, getattr(obj, attr)
        break
    else:
        raise ImportError(name)
    fn = obj.__func__ if isinstance(obj, types.MethodType) else obj
    if isinstance(fn, types.FunctionType) and not fn.__code__.co_freevars:
        fn.__code__ = _blocked_stub(name)
        return
    stub = types.FunctionType(_blocked_stub(name), {}, parts[-1])
    setattr(owner, parts[-1], stub)


def forget_hidden_modules(hidden: Sequence[str], keep: Sequence[str] = ()) -> List[str]:
    """Make modules loaded from a hidden folder unimportable; return their names.

    The warm worker may have imported such a module before the job (a library module that
    uses it). Under bwrap the folder is covered anyway; without the sandbox (``--insecure``)
    the audit hook refuses reads of the folder, but an import served from ``sys.modules``
    reads nothing. Each such entry becomes ``None`` (``import`` then raises
    ``ModuleNotFoundError``) and its attribute on the parent package is removed. As in the
    hook, a kept folder inside a hidden one stays visible and the deeper prefix wins.
    """
    hidden_prefixes = [os.path.realpath(h).rstrip("/") + "/" for h in hidden]
    keep_prefixes = [os.path.realpath(k).rstrip("/") + "/" for k in keep]

    def is_hidden(path: str) -> bool:
        depth = max([len(h) for h in hidden_prefixes if path.startswith(h)], default=0)
        return depth > max([len(k) for k in keep_prefixes if path.startswith(k)], default=0)

    gone = []
    for name, module in list(sys.modules.items()):
        origin = getattr(module, "__file__", None)
        if isinstance(origin, str) and is_hidden(os.path.realpath(origin)):
            sys.modules[name] = None  # type: ignore[assignment]
            parent, _, child = name.rpartition(".")
            if sys.modules.get(parent) is not None:
                sys.modules[parent].__dict__.pop(child, None)
            gone.append(name)
    return gone


# Audit events refused outright once student code runs.
_DENY = {
    "os.fork": "starting processes", "os.forkpty": "starting processes",
    "os.posix_spawn": "starting processes", "os.spawn": "starting processes",
    "os.exec": "starting processes", "os.system": "running shell commands",
    "subprocess.Popen": "starting processes", "pty.spawn": "starting processes",
    "os.kill": "sending signals", "os.killpg": "sending signals",
    "signal.pthread_kill": "sending signals",
    "socket.connect": "network access", "socket.bind": "network access",
    "socket.sendto": "network access", "socket.sendmsg": "network access",
    "socket.getaddrinfo": "network access", "socket.gethostbyname": "network access",
    "socket.gethostbyaddr": "network access", "urllib.Request": "network access",
    "ctypes.dlopen": "loading native code", "ctypes.dlsym": "loading native code",
    "ctypes.dlsym/handle": "loading native code", "ctypes.call_function": "calling native code",
    "gc.get_objects": "walking the grader's objects", "gc.get_referrers": "walking the grader's objects",
    "gc.get_referents": "walking the grader's objects",
    "sys.settrace": "tracing the grader", "sys.setprofile": "tracing the grader",
    "resource.setrlimit": "changing limits", "resource.prlimit": "changing limits",
}
# Events whose first argument is a path that is modified.
_WRITE_PATH_EVENTS = {"os.remove", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.truncate",
                      "os.utime", "os.symlink", "os.link", "os.rename", "shutil.rmtree",
                      "shutil.copyfile", "shutil.move"}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def install_audit_hook(scratch: str, hidden: Sequence[str], on_forbidden: Callable[[str], None],
                       keep: Sequence[str] = ()) -> None:
    """Install the sandbox's audit hook; it stays for the life of the process.

    Reads under ``hidden`` are refused except inside ``keep`` (the Python environment and the
    asrlab library, which may live inside the course folder), mirroring what the mount step
    leaves visible; the more specific of the two prefixes wins, so a hidden folder inside a
    kept one stays hidden.

    Everything the hook uses is bound in its closure now: student code that later
    rebinds builtins (``any``, ``isinstance``) or this module's globals changes nothing.
    """
    realpath, fspath = os.path.realpath, os.fsdecode
    isinstance_, str_, int_, len_, max_ = isinstance, str, int, len, max
    denied_error, forbidden_error = PermissionError, ForbiddenCallError
    deny = dict(_DENY)
    write_events = frozenset(_WRITE_PATH_EVENTS)
    write_flags, event_name = _WRITE_FLAGS, AUDIT_EVENT
    scratch = realpath(scratch)
    scratch_slash = scratch + "/"
    hidden_prefixes = tuple(realpath(h).rstrip("/") + "/" for h in hidden)
    keep_prefixes = tuple(realpath(k).rstrip("/") + "/" for k in keep)
    own_proc = f"/proc/{os.getpid()}/"
    busy = [False]

    def resolve(path: Any) -> Optional[str]:
        if isinstance_(path, int_) or path is None:
            return None
        try:
            return realpath(fspath(path))
        except Exception:  # noqa: BLE001 - odd path types: judged by the OS
            return None

    def readable(p: str) -> bool:
        q = p + "/"
        if q.startswith(hidden_prefixes) and not q.startswith(scratch_slash):
            hidden_depth = max_([len_(h) for h in hidden_prefixes if q.startswith(h)])
            kept_depth = max_([len_(k) for k in keep_prefixes if q.startswith(k)], default=0)
            if kept_depth <= hidden_depth:
                return False
        return not (p.startswith("/proc/") and p[6:7].isdigit() and not p.startswith(own_proc))

    def writable(p: str) -> bool:
        return p == "/dev/null" or p == scratch or (p + "/").startswith(scratch_slash)

    def hook(event: str, args: tuple) -> None:
        if busy[0]:
            return
        if event == event_name:
            busy[0] = True
            try:
                on_forbidden(str_(args[0]))
            finally:
                busy[0] = False
            raise forbidden_error(f"calling {args[0]} is not allowed in this task; "
                                  "write the computation yourself")
        why = deny.get(event)
        if why is not None:
            raise denied_error(f"{event}: {why} is disabled while grading")
        if event == "open":
            busy[0] = True
            try:
                p = resolve(args[0])
                if p is None:
                    return
                mode = args[1] if len_(args) > 1 else None
                flags = args[2] if len_(args) > 2 else 0
                wants_write = (isinstance_(mode, str_) and ("w" in mode or "a" in mode or "x" in mode
                                                            or "+" in mode)) or \
                              (isinstance_(flags, int_) and (flags & write_flags) != 0)
                if wants_write and not writable(p):
                    raise denied_error(f"writing {p} is not allowed while grading; "
                                       "write files in the current directory")
                if not readable(p):
                    raise denied_error(f"reading {p} is not allowed while grading")
            finally:
                busy[0] = False
        elif event == "os.listdir" or event == "os.scandir":
            busy[0] = True
            try:
                p = resolve(args[0] if len_(args) else None)
                if p is not None and not readable(p):
                    raise denied_error(f"listing {p} is not allowed while grading")
            finally:
                busy[0] = False
        elif event in write_events:
            busy[0] = True
            try:
                for a in args[:2]:
                    p = resolve(a)
                    if p is not None and not writable(p):
                        raise denied_error(f"{event} on {p} is not allowed while grading")
            finally:
                busy[0] = False

    sys.addaudithook(hook)
