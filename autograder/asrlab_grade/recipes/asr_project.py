"""Recipes that run inside the sandbox of a project submission (``asr_project``).

The submission folder's files sit in the sandbox's working folder, so its package is importable
(``from src.api import load_model, transcribe``). Each recipe calls one part of the project's contract
and returns plain data; the grader scores it. Hidden audio arrives as files in the working folder
(``<split>/audio/<id>.wav``), never with its transcripts.
"""
from __future__ import annotations


def transcribe_folder(folder, decoder, without_lm=False):
    """``transcribe`` on every file of ``folder`` with ``decoder``; ``without_lm``: the checkpoint with
    ``config.json``'s ``lm`` set to null (a copy), to measure what the LM adds. -> {id: text}."""
    import json
    import os
    import shutil

    from src.api import load_model, transcribe

    checkpoint = "checkpoint"
    if without_lm:
        checkpoint = "checkpoint_without_lm"
        shutil.copytree("checkpoint", checkpoint, dirs_exist_ok=True)
        with open(os.path.join(checkpoint, "config.json")) as f:
            config = json.load(f)
        config["lm"] = None
        with open(os.path.join(checkpoint, "config.json"), "w") as f:
            json.dump(config, f)
    model = load_model(checkpoint, device="cpu")
    paths = sorted(os.path.join(folder, name) for name in os.listdir(folder))
    out = transcribe(model, paths, decoder=decoder)
    if not isinstance(out, dict):
        raise TypeError(f"transcribe returned a {type(out).__name__}; it must return a dict {{utterance id: text}}")
    return {str(k): str(v) for k, v in out.items()}


def run_script(path, args, tail):
    """``python <path> <args>`` in this process (the sandbox refuses subprocesses); returns the last ``tail``
    characters it printed. A non-zero exit status is an error that quotes them."""
    import contextlib
    import io
    import runpy
    import sys

    printed, argv = io.StringIO(), sys.argv
    sys.argv = [path, *args]
    try:
        with contextlib.redirect_stdout(printed):
            runpy.run_path(path, run_name="__main__")
    except SystemExit as e:
        if e.code not in (0, None):
            raise RuntimeError(f"{path} exited with status {e.code}; printed:\n{printed.getvalue()[-tail:]}")
    finally:
        sys.argv = argv
    return printed.getvalue()[-tail:]


def run_calc_metrics(pairs):
    """Run the student's ``calc_metrics.py REF_DIR HYP_DIR`` in this process on ``pairs`` ({id: [ref, hyp]});
    returns what it printed (the last 2000 characters)."""
    import os

    for folder, column in (("metrics_ref", 0), ("metrics_hyp", 1)):
        os.makedirs(folder, exist_ok=True)
        for utt, texts in pairs.items():
            with open(os.path.join(folder, f"{utt}.txt"), "w", encoding="utf-8") as f:
                f.write(texts[column] + "\n")
    return run_script("calc_metrics.py", ["metrics_ref", "metrics_hyp"], 2000)


def dataset_items(root):
    """``CustomDirDataset(root)`` on a folder with ``audio/`` only: each item's id, shape, dtype and text."""
    from src.datasets.custom_dir import CustomDirDataset

    ds = CustomDirDataset(root)
    items = []
    for i in range(len(ds)):
        item = ds[i]
        audio, text = item["audio"], item["text"]
        items.append({"id": str(item["id"]), "shape": [int(s) for s in audio.shape], "dtype": str(audio.dtype),
                      "text": None if text is None else str(text)})
    return items


def augmentations(wave, folder, seed):
    """Every entry of ``src.augment.AUGMENTATIONS`` on the fixed input ``wave`` (how much it changes it) and on
    the files of ``folder`` (greedy transcripts of the augmented audio; ``"none"``: of the audio as it is)."""
    import os

    import numpy as np
    import soundfile
    import torch

    from src.api import load_model, transcribe
    from src.augment import AUGMENTATIONS

    x = torch.as_tensor(np.asarray(wave, dtype=np.float32))
    names = sorted(os.listdir(folder))
    clips = [soundfile.read(os.path.join(folder, n), dtype="float32")[0] for n in names]
    model = load_model("checkpoint", device="cpu")
    out = {"none": {"hyps": transcribe(model, [os.path.join(folder, n) for n in names], decoder="greedy")}}
    for k, (name, aug) in enumerate(sorted(AUGMENTATIONS.items())[:12]):
        torch.manual_seed(seed)
        y = torch.as_tensor(aug(x.clone(), 16000)).detach().float().reshape(-1)
        entry = {"samples": int(x.numel()), "out_samples": int(y.numel()), "finite": bool(torch.isfinite(y).all())}
        n = min(x.numel(), y.numel())
        entry["change"] = float((y[:n] - x[:n]).abs().max()) if n and y.numel() == x.numel() else float("inf")
        target = f"augmented_{k}"
        os.makedirs(target, exist_ok=True)
        for i, (utt, clip) in enumerate(zip(names, clips)):
            torch.manual_seed(seed + 1 + i)
            z = torch.as_tensor(aug(torch.from_numpy(clip.copy()), 16000)).detach().float().reshape(-1)
            soundfile.write(os.path.join(target, os.path.splitext(utt)[0] + ".wav"),
                            z.clamp(-1, 1).numpy(), 16000, subtype="FLOAT")
        paths = [os.path.join(target, p) for p in sorted(os.listdir(target))]
        entry["hyps"] = {str(a): str(b) for a, b in transcribe(model, paths, decoder="greedy").items()}
        out[str(name)] = entry
    out["none"]["hyps"] = {str(a): str(b) for a, b in out["none"]["hyps"].items()}
    return out


def read_logs(folder="logs", max_points=300):
    """The TensorBoard event files under ``folder``: tags by kind and every scalar's curve (at most
    ``max_points`` points each) -> {"scalars": {tag: [[step, value], ...]}, "images": [...], "audio": [...],
    "text": [...]} or {"error": why}."""
    import os

    try:
        from tensorboard.backend.event_processing import event_accumulator as ea
    except ImportError:
        return {"error": "tensorboard is not installed where the grader runs; the logs were not read"}
    runs = sorted({root for root, _, files in os.walk(folder) if any("tfevents" in f for f in files)})
    out = {"scalars": {}, "images": [], "audio": [], "text": [], "runs": len(runs)}
    for run in runs:
        acc = ea.EventAccumulator(run, size_guidance={ea.SCALARS: 0, ea.IMAGES: 1, ea.AUDIO: 1, ea.TENSORS: 1})
        acc.Reload()
        tags = acc.Tags()
        prefix = os.path.relpath(run, folder)
        prefix = "" if prefix == "." else prefix + "/"
        for tag in tags.get("scalars", []):
            events = acc.Scalars(tag)
            stride = max(1, len(events) // max_points)
            out["scalars"][prefix + tag] = [[int(e.step), float(e.value)] for e in events[::stride]]
        out["images"] += [prefix + t for t in tags.get("images", [])]
        out["audio"] += [prefix + t for t in tags.get("audio", [])]
        for tag in tags.get("tensors", []):
            if acc.SummaryMetadata(tag).plugin_data.plugin_name == "text":
                out["text"].append(prefix + tag)
    return out


def short_training(overrides):
    """``python train.py <overrides>`` in this process (a short run); returns its logs (:func:`read_logs` of
    ``short_run/logs``) and the end of what it printed."""
    printed = run_script("train.py", list(overrides), 800)
    logs = read_logs("short_run/logs", max_points=1000)
    logs["printed"] = printed
    return logs
