"""The sandbox child: runs a rebuilt notebook's cells as plain Python, then the graded calls.

Run by :mod:`asrlab_grade.worker` inside a sandbox, with a job folder written by the
trusted grader and a pipe to report on. It never decides a grade:
it reports what student code returned, as typed plain data, one JSON line per event:

    ready, cell_start/cell_error/cell_end, cells_done, call_start, result/call_error,
    forbidden, done

Cells run with ``exec`` in one namespace, not in an IPython kernel: IPython syntax was
already translated by the trusted side, and ``get_ipython()`` returns a stand-in whose
input transformers and event hooks are inert, so a student cannot rewrite later cells.
"""
from __future__ import annotations

import builtins
import inspect
import json
import os
import sys
import time
import traceback
from typing import Any, Dict, List, Optional

from . import guard, sandbox, wire

# Bytes of printed output kept per stream (the rest is dropped, never an error).
OUTPUT_TAIL = 4000
# Frames of a student traceback shown in feedback.
TRACEBACK_LIMIT = 6

# Captured before student code can rebind them.
_write, _dumps, _monotonic, _exit = os.write, json.dumps, time.monotonic, os._exit


class TailBuffer:
    """A text stream that keeps only the last ``OUTPUT_TAIL`` characters written to it."""

    def __init__(self) -> None:
        self.text = ""
        self.total = 0

    def write(self, s: Any) -> int:
        s = str(s)
        self.total += len(s)
        self.text = (self.text + s)[-OUTPUT_TAIL:]
        return len(s)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError("no file descriptor while grading")


class _Inert:
    """Stand-in for IPython objects: every attribute exists and does nothing."""

    def __init__(self, name: str = "") -> None:
        self._name = name

    def __getattr__(self, name: str) -> "_Inert":
        return _Inert(name)

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        return None

    def __iter__(self):  # so `ip.input_transformers_cleanup.append(...)` etc. are harmless
        return iter(())

    def append(self, item: Any) -> None:
        return None


class FakeIPython(_Inert):
    """``get_ipython()`` inside the sandbox: magics are ignored, except that cell magics
    that only measure (``%%time``, ``%%capture``) still run their body."""

    def __init__(self, namespace: Dict[str, Any]) -> None:
        super().__init__("ipython")
        self._ns = namespace

    def run_cell_magic(self, magic: str, line: str, body: str) -> None:
        if magic in ("time", "timeit", "capture"):
            exec(compile(body, "<cell magic>", "exec"), self._ns)

    def run_line_magic(self, magic: str, line: str) -> None:
        return None

    def system(self, cmd: str) -> None:
        return None

    def getoutput(self, cmd: str) -> List[str]:
        return []


class Reporter:
    """Writes events to the pipe (the grader treats anything malformed as a crash)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __call__(self, event: str, **fields: Any) -> None:
        fields["ev"] = event
        data = (_dumps(fields) + "\n").encode()
        view = memoryview(data)
        while view:
            n = _write(self.fd, view)
            view = view[n:]


def _short_traceback(exc: BaseException) -> str:
    """The student's part of a traceback: frames from the runner itself are dropped."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not f.filename.endswith(("runner.py", "guard.py"))][-TRACEBACK_LIMIT:]
    lines = traceback.format_list(frames) + traceback.format_exception_only(type(exc), exc)
    return "".join(lines)[-3000:]


def _to_inputs(value: Any) -> Any:
    """Decoded inputs, with tagged tensors turned back into torch tensors."""
    if isinstance(value, wire.Tensorish):
        import torch
        return torch.from_numpy(value.array.copy())
    if isinstance(value, list):
        return [_to_inputs(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_to_inputs(v) for v in value)
    if isinstance(value, dict):
        return {k: _to_inputs(v) for k, v in value.items()}
    return value


def invoke(call_id: str, fn: Any, args: Any, kwargs: Any) -> Any:
    """Every graded call goes through this frame; the audit hook finds the outermost
    one to learn which call a forbidden function was reached from."""
    return fn(*args, **kwargs)


INVOKE_CODE = invoke.__code__


def _current_call() -> Optional[str]:
    frame = sys._getframe(1)
    found = None
    while frame is not None:
        if frame.f_code is INVOKE_CODE:
            found = frame.f_locals.get("call_id")
        frame = frame.f_back
    return found


# A checkpoint's config holds constructor arguments: a few plain values, never data.
CONFIG_MAX_KEYS = 32
CONFIG_MAX_LIST = 16
CONFIG_MAX_STR = 100


def check_config(config: Any, cls: Any) -> None:
    """Refuse a checkpoint ``config`` that is not a small dict of plain constructor arguments.

    Keys must be parameters of ``cls`` (unless it takes ``**kwargs``); values are None, bools,
    numbers, short strings or short lists of those.
    """
    fix = ("; save only the model's constructor arguments: torch.save({'config': dict(input_dim=80, "
           "hidden_dim=256, ...), 'state_dict': model.state_dict()}, path)")
    if type(config) is not dict:
        raise ValueError(f"the checkpoint's config is a {type(config).__name__}, not a dict" + fix)
    if len(config) > CONFIG_MAX_KEYS:
        raise ValueError(f"the checkpoint's config has {len(config)} entries (at most {CONFIG_MAX_KEYS})" + fix)
    scalar = (type(None), bool, int, float)

    def plain(v: Any) -> bool:
        if type(v) in scalar:
            return True
        if type(v) is str:
            return len(v) <= CONFIG_MAX_STR
        return type(v) in (list, tuple) and len(v) <= CONFIG_MAX_LIST and all(
            type(x) in scalar or (type(x) is str and len(x) <= CONFIG_MAX_STR) for x in v)

    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        params = None
    open_kwargs = params is None or any(p.kind is p.VAR_KEYWORD for p in params.values())
    for key, value in config.items():
        if type(key) is not str:
            raise ValueError(f"the checkpoint's config has a key {key!r} that is not a string" + fix)
        if not open_kwargs and key not in params:
            raise ValueError(f"the checkpoint's config has '{key}', which {cls.__name__}() does not take" + fix)
        if not plain(value):
            raise ValueError(f"the checkpoint's config entry '{key}' is a {type(value).__name__} "
                             f"(allowed: numbers, strings up to {CONFIG_MAX_STR} characters, lists of up "
                             f"to {CONFIG_MAX_LIST} of those)" + fix)


def load_checkpoint(path: str, model_class: str, ns: Dict[str, Any]) -> Any:
    """The model a ``{"config": ..., "state_dict": ...}`` checkpoint at ``path`` holds, built from class
    ``ns[model_class]`` (``torch.load(weights_only=True)``, :func:`check_config`, ``load_state_dict``)."""
    import torch
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint '{path}' was not submitted; run the training cell, "
                                "which saves it, and submit the file next to the notebook")
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or "config" not in ckpt or "state_dict" not in ckpt:
        raise ValueError(f"checkpoint '{path}' must be a dict with keys 'config' and "
                         "'state_dict': torch.save({'config': cfg, 'state_dict': model.state_dict()}, path)")
    cls = ns.get(model_class)
    if cls is None:
        raise NameError(f"class {model_class} is not defined in the notebook")
    check_config(ckpt["config"], cls)
    model = cls(**ckpt["config"])
    model.load_state_dict(ckpt["state_dict"])
    return model


def _train_eval(call: Dict[str, Any], ns: Dict[str, Any], inputs: Any) -> Any:
    import torch
    if call.get("refused"):
        raise ValueError(call["refused"])
    model = load_checkpoint(call["checkpoint"], call["model_class"], ns)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device).eval()
    recipe: Dict[str, Any] = {"__name__": "asrlab_eval"}
    exec(compile(call["evaluate_source"], "<evaluation recipe>", "exec"), recipe)
    with torch.no_grad():
        return recipe["evaluate"](model, inputs, device)


def child_main(job_dir: str, scratch: str, out_fd: int) -> None:
    """Run the job in ``job_dir`` with ``scratch`` as working folder. Never returns."""
    report = Reporter(out_fd)
    try:
        t0 = _monotonic()
        with open(os.path.join(job_dir, "job.json")) as f:
            job = json.load(f)
        calls = job["calls"]
        for call in calls:
            call["inputs"] = wire.decode(call["inputs"])
        limits = job["limits"]
        os.makedirs(scratch, exist_ok=True)
        sandbox.copy_inputs(os.path.join(job_dir, "files"), scratch)
        os.chdir(scratch)
        t1 = _monotonic()
        unarmed = guard.arm_forbidden(job["forbidden"])
        t2 = _monotonic()
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(1)
        sandbox.set_limits(limits["notebook_cpu_s"], limits["memory_mb"], limits["disk_mb"])

        def on_forbidden(name: str, report: Reporter = report, current: Any = _current_call) -> None:
            report("forbidden", name=name, call=current())

        guard.forget_hidden_modules(job["hide"], keep=job["keep"])
        guard.install_audit_hook(scratch, list(job["hide"]) + [job_dir], on_forbidden, keep=job["keep"])
    except BaseException as e:  # noqa: BLE001 - the grader reports it as a grader error
        report("setup_error", message=f"{type(e).__name__}: {e}")
        _exit(3)
    # Bound locally: a student who rebinds the module's globals cannot reroute calls.
    _invoke, _encode, _train = invoke, wire.encode, _train_eval
    report("ready", unarmed=unarmed,
           setup_s={"inputs": round(t1 - t0, 4), "arm": round(t2 - t1, 4),
                    "rest": round(_monotonic() - t2, 4)})
    out, err = TailBuffer(), TailBuffer()
    sys.stdout, sys.stderr = out, err
    sys.path.insert(0, scratch)
    ns: Dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    fake_ipython = FakeIPython(ns)
    ns["get_ipython"] = lambda: fake_ipython
    for cell in job["cells"]:
        report("cell_start", index=cell["index"])
        try:
            exec(compile(cell["source"], f"<{cell.get('label', cell['index'])}>", "exec"), ns)
        except BaseException as e:  # noqa: BLE001 - SystemExit and KeyboardInterrupt included
            report("cell_error", index=cell["index"], message=_short_traceback(e))
        report("cell_end", index=cell["index"])
    report("cells_done")
    for call in calls:
        cid = call["id"]
        report("call_start", call=cid)
        t0 = _monotonic()
        try:
            inputs = _to_inputs(call["inputs"])
            if call["kind"] == "train_eval":
                value = _invoke(cid, _train, (call, ns, inputs), {})
            elif call["fn"] is None:  # a recipe that reaches the student's code itself (a project's API)
                recipe = {"__name__": "asrlab_adapter"}
                exec(compile(call["adapter"], "<adapter>", "exec"), recipe)
                value = _invoke(cid, recipe["adapt"], inputs["args"], inputs["kwargs"])
            else:
                fn = ns.get(call["fn"])
                if fn is None or not callable(fn):
                    raise NameError(f"{call['fn']} is not defined; run its answer cell and check "
                                    "the name is spelled as in the assignment")
                args = inputs["args"]
                if call.get("adapter"):
                    recipe: Dict[str, Any] = {"__name__": "asrlab_adapter"}
                    exec(compile(call["adapter"], "<adapter>", "exec"), recipe)
                    fn, args = recipe["adapt"], (fn, *args)
                value = _invoke(cid, fn, args, inputs["kwargs"])
            payload = _encode(value)
        except BaseException as e:  # noqa: BLE001
            report("call_error", call=cid, message=_short_traceback(e), seconds=_monotonic() - t0)
            continue
        report("result", call=cid, value=payload, seconds=_monotonic() - t0)
    report("done", stdout=out.text, stderr=err.text, stdout_chars=out.total, stderr_chars=err.total)
    _exit(0)
