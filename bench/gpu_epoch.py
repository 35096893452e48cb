"""Time one training epoch of each training notebook's ``full``-budget model on a LibriSpeech-100-size corpus.

The corpus is synthetic at the tensor level: utterance durations and transcript lengths follow
train-clean-100 (28,539 utterances, 100.6 h; durations 1.3-24.5 s, mean 12.7 s, ~15 characters per second);
features and labels are random, generated on the device batch by batch (throughput does not depend on the
values). Batches are length-bucketed to the notebook's ``full`` audio budget per batch, as
``asrlab.train.make_loader(max_seconds=...)`` makes them. Each step is what ``asrlab.train.Trainer`` does:
forward and loss (``asrlab.train.objectives``) under mixed precision (``asrlab.train.precision``: bf16, or fp16
with a GradScaler, on CUDA; float32 on CPU), backward, gradient clipping, AdamW.

Models (the ``course.pick(full=...)`` settings of the solution notebooks, built from ``asrlab.models``):

* ``ctc_training``: BiLSTM-CTC, 80 log-Mel, conv subsampling 2, 3 x 256 units per direction, 300 s per batch;
* ``rnnt``: transducer, BiLSTM encoder 3 x 256, subsampling 4, predictor 256, joint 256, 200 s per batch;
* ``e2e_mtl``: multi-task BiLSTM-CTC with intent / dialog-act / sentiment heads, 256 units, 32 utterances
  per batch (HarperValleyBank features are 128-dimensional).

Usage::

    python bench/gpu_epoch.py --device cuda                 # full epochs (goal: BiLSTM-CTC < 180 s on one GPU)
    python bench/gpu_epoch.py --device cuda --max-steps 50  # first 50 steps, epoch time extrapolated
    python bench/gpu_epoch.py --quick                       # tiny setting, runs on a CPU in seconds

Prints per model: steps, utterances, audio hours, seconds, utterances/s and the (extrapolated) epoch time.
The last line is ``ratio: X`` = BiLSTM-CTC epoch seconds / 180 (the goal; <= 1 meets it).
"""
from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from asrlab.models import CTCModel, MultiTaskCTC, RNNTModel
from asrlab.train.objectives import CTCObjective, MultiTaskObjective, RNNTObjective
from asrlab.train.precision import resolve_precision

UTTERANCES = 28_539  # LibriSpeech train-clean-100
MEAN_SECONDS, MIN_SECONDS, MAX_SECONDS = 12.7, 1.3, 24.5
CHARS_PER_SECOND = 15.0
FRAMES_PER_SECOND = 100
NUM_CHARS = 29  # course character table, blank last
GOAL_SECONDS = 180.0
CLIP_NORM = 5.0
QUICK_SCALE = 0.002  # --quick: 57 utterances and a tenth of the model width


@dataclass(frozen=True)
class Setup:
    """One notebook's full-budget model and batching."""

    name: str
    build: Callable[[float], torch.nn.Module]  # width scale -> model
    objective: object
    input_dim: int
    max_seconds: float | None = None  # audio per batch
    batch_size: int | None = None  # or a fixed number of utterances
    multitask: bool = False


def _width(units: int, scale: float) -> int:
    return max(8, int(units * scale))


SETUPS = (
    Setup("ctc_training", lambda s: CTCModel(80, NUM_CHARS, NUM_CHARS - 1, "bilstm", _width(256, s), 3, 0.1, 2),
          CTCObjective(), 80, max_seconds=300.0),
    Setup("rnnt", lambda s: RNNTModel(80, NUM_CHARS, NUM_CHARS - 1, encoder_dim=_width(256, s), encoder_layers=3,
                                      predictor_dim=_width(256, s), joint_dim=_width(256, s), dropout=0.15,
                                      subsampling=4),
          RNNTObjective(), 80, max_seconds=200.0),
    Setup("e2e_mtl", lambda s: MultiTaskCTC(128, NUM_CHARS, NUM_CHARS - 1, num_task_types=8, num_dialog_acts=16,
                                            hidden_dim=_width(256, s), num_layers=2, subsampling=2),
          MultiTaskObjective(), 128, batch_size=32, multitask=True),
)


def corpus_durations(utterances: int, seed: int) -> np.ndarray:
    """Durations in seconds shaped like train-clean-100's: most near the mean, a tail of short ones."""
    rng = np.random.default_rng(seed)
    durations = rng.normal(MEAN_SECONDS + 1.5, 2.5, utterances)
    short = rng.random(utterances) < 0.12
    durations[short] = rng.uniform(MIN_SECONDS, MEAN_SECONDS, short.sum())
    return np.clip(durations, MIN_SECONDS, MAX_SECONDS)


def batches(durations: np.ndarray, setup: Setup, seed: int) -> list[np.ndarray]:
    """Length-bucketed batches of utterance indices: sorted by duration, cut at the audio budget (padded to the
    longest) or at ``batch_size``, then shuffled."""
    order = np.argsort(durations, kind="stable")
    out, current = [], []
    for i in order.tolist():
        full = (setup.batch_size is not None and len(current) == setup.batch_size) or (
            setup.max_seconds is not None and current and (len(current) + 1) * durations[i] > setup.max_seconds)
        if full:
            out.append(np.array(current))
            current = []
        current.append(i)
    out.append(np.array(current))
    np.random.default_rng(seed).shuffle(out)
    return out


def make_batch(seconds: np.ndarray, setup: Setup, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """Random features (B, T, F), lengths (B,) and the batch dict the objectives read, on ``device``."""
    lengths = torch.from_numpy(np.maximum(1, (seconds * FRAMES_PER_SECOND).astype(np.int64))).to(device)
    feats = torch.randn(len(seconds), int(lengths.max()), setup.input_dim, device=device)
    token_lengths = torch.from_numpy(np.maximum(1, (seconds * CHARS_PER_SECOND).astype(np.int64))).to(device)
    tokens = torch.randint(0, NUM_CHARS - 1, (len(seconds), int(token_lengths.max())), device=device)
    batch = {"tokens": tokens, "token_lengths": token_lengths}
    if setup.multitask:
        b = len(seconds)
        batch.update(task_type=torch.randint(0, 8, (b,), device=device),
                     dialog_acts=(torch.rand(b, 16, device=device) < 0.2).float(),
                     sentiment=torch.softmax(torch.randn(b, 3, device=device), -1))
    return feats, lengths, batch


def run_epoch(setup: Setup, args: argparse.Namespace, device: torch.device) -> dict[str, float]:
    torch.manual_seed(args.seed)
    scale = QUICK_SCALE * 50 if args.quick else 1.0
    model = setup.build(scale).to(device).train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3)
    precision = resolve_precision(args.precision, device)
    scaler = precision.make_scaler()
    utterances = max(8, int(UTTERANCES * QUICK_SCALE)) if args.quick else args.utterances
    durations = corpus_durations(utterances, args.seed)
    if args.quick:
        durations = durations / 4  # short utterances: seconds on a CPU
    plan = batches(durations, setup, args.seed)
    steps = len(plan) if args.max_steps is None else min(args.max_steps, len(plan))
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    done_utts, done_seconds = 0, 0.0
    for warm in plan[: min(2, steps)]:  # warm-up: cuDNN plans, allocator, lazy init (not timed)
        _step(model, setup, optimiser, scaler, precision, *make_batch(durations[warm], setup, device))
    sync()
    start = time.perf_counter()
    for ids in plan[:steps]:
        _step(model, setup, optimiser, scaler, precision, *make_batch(durations[ids], setup, device))
        done_utts += len(ids)
        done_seconds += float(durations[ids].sum())
    sync()
    elapsed = time.perf_counter() - start
    epoch = elapsed * float(durations.sum()) / done_seconds
    return {"steps": steps, "batches": len(plan), "utterances": done_utts, "hours": done_seconds / 3600,
            "seconds": elapsed, "epoch_seconds": epoch, "utt_per_s": done_utts / elapsed,
            "params_m": sum(p.numel() for p in model.parameters()) / 1e6,
            "precision": str(precision.dtype or torch.float32).replace("torch.", "")}


def _step(model, setup: Setup, optimiser, scaler, precision, feats, lengths, batch) -> None:
    optimiser.zero_grad(set_to_none=True)
    with precision.autocast():
        loss, _ = setup.objective.loss(model, feats, lengths, batch)
    scaler.scale(loss).backward()
    scaler.unscale_(optimiser)
    torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP_NORM)
    scaler.step(optimiser)
    scaler.update()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--quick", action="store_true", help="tiny corpus and models (a CPU smoke run)")
    parser.add_argument("--models", default=",".join(s.name for s in SETUPS), help="comma-separated subset")
    parser.add_argument("--utterances", type=int, default=UTTERANCES)
    parser.add_argument("--max-steps", type=int, default=None, help="time this many steps, extrapolate the epoch")
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"))
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"one training epoch per model on {name}, torch {torch.__version__}"
          + (" (--quick: tiny corpus and models)" if args.quick else ""))
    wanted = set(args.models.split(","))
    results = {}
    for setup in (s for s in SETUPS if s.name in wanted):
        r = results[setup.name] = run_epoch(setup, args, device)
        print(f"{setup.name:13s} {r['params_m']:6.2f} M params  {r['precision']:8s}  {r['steps']}/{r['batches']} steps  "
              f"{r['utterances']} utt  {r['hours']:.2f} h audio  {r['seconds']:.1f} s  {r['utt_per_s']:.1f} utt/s  "
              f"epoch {r['epoch_seconds']:.1f} s" + ("" if r["steps"] == r["batches"] else " (extrapolated)"))
    if device.type == "cuda":
        print(f"peak GPU memory {torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB")
    if "ctc_training" in results:
        print(f"ratio: {results['ctc_training']['epoch_seconds'] / GOAL_SECONDS:.3f}  "
              f"(BiLSTM-CTC epoch / {GOAL_SECONDS:.0f} s goal)")
    else:
        print(f"ratio: {math.nan}")


if __name__ == "__main__":
    main()
