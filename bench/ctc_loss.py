"""Benchmark asrlab.ctc.ctc_loss against torch's native ctc_loss, measured in the same run.

Usage::

    python bench/ctc_loss.py                      # CPU, T=400 B=16 C=30 L=80, 1 thread, 10 repeats
    python bench/ctc_loss.py --quick              # 3 repeats: well under a minute on 2 shared cores
    python bench/ctc_loss.py --device cuda        # any torch device
    python bench/ctc_loss.py --threads 2 --dtypes float32

For each dtype it prints the median time of forward-only (no autograd), backward-only (the
``.backward()`` call after a forward) and forward+backward for both implementations, the ratio
asrlab / torch (lower is better, 1 = as fast as the native kernel), and the largest difference
in loss and gradient. The two implementations alternate inside each repeat, so a load change on a
shared machine affects both alike. The last line is ``ratio: X``, the forward+backward ratio (the
worst over the dtypes measured).
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import torch
import torch.nn.functional as F

from asrlab.ctc import ctc_loss

NUM_FRAMES, BATCH, NUM_CLASSES, NUM_LABELS = 400, 16, 30, 80  # a ~4 s utterance at 10 ms frames, chars
BLANK = 0
WARMUP = 1
REPEATS, QUICK_REPEATS = 10, 3

LossFn = Callable[..., torch.Tensor]


def make_inputs(dtype: torch.dtype, device: str, seed: int = 0):
    """Random log_probs (T, B, C) and padded targets (B, L) with full lengths."""
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(NUM_FRAMES, BATCH, NUM_CLASSES, generator=gen, dtype=dtype)
    log_probs = logits.log_softmax(-1).to(device)  # (T, B, C)
    targets = torch.randint(1, NUM_CLASSES, (BATCH, NUM_LABELS), generator=gen).to(device)  # (B, L)
    input_lengths = torch.full((BATCH,), NUM_FRAMES, dtype=torch.long)
    target_lengths = torch.full((BATCH,), NUM_LABELS, dtype=torch.long)
    return log_probs, targets, input_lengths, target_lengths


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_once(fn: LossFn, inputs, mode: str, device: str) -> float:
    """Seconds for one forward ("fwd"), one backward ("bwd") or both ("fwd+bwd")."""
    log_probs, targets, input_lengths, target_lengths = inputs
    leaf = log_probs.detach().requires_grad_(mode != "fwd")
    sync(device)
    start = time.perf_counter()
    with torch.set_grad_enabled(mode != "fwd"):
        loss = fn(leaf, targets, input_lengths, target_lengths, blank=BLANK, reduction="mean")
    if mode == "bwd":  # only the backward call is timed
        sync(device)
        start = time.perf_counter()
    if mode != "fwd":
        loss.backward()
    sync(device)
    return time.perf_counter() - start


def max_differences(inputs) -> tuple[float, float]:
    """Largest relative loss difference and absolute gradient difference between the two implementations."""
    results = []
    for fn in (ctc_loss, F.ctc_loss):
        leaf = inputs[0].detach().requires_grad_()
        loss = fn(leaf, *inputs[1:], blank=BLANK, reduction="none")
        (grad,) = torch.autograd.grad(loss.sum(), leaf)
        results.append((loss, grad))
    (loss_a, grad_a), (loss_b, grad_b) = results
    return ((loss_a - loss_b).abs() / loss_b.abs()).max().item(), (grad_a - grad_b).abs().max().item()


def bench_dtype(dtype: torch.dtype, device: str, repeats: int) -> float:
    """Print one table for ``dtype``; return the forward+backward ratio."""
    inputs = make_inputs(dtype, device)
    loss_diff, grad_diff = max_differences(inputs)
    print(f"\n{dtype} on {device}: max relative loss diff {loss_diff:.1e}, max |grad diff| {grad_diff:.1e}")
    print(f"{'mode':<8} {'torch ms':>10} {'asrlab ms':>10} {'ratio':>7}")
    ratio = float("nan")
    for mode in ("fwd", "bwd", "fwd+bwd"):
        times: dict[str, list[float]] = {"torch": [], "asrlab": []}
        for repeat in range(WARMUP + repeats):
            for name, fn in (("torch", F.ctc_loss), ("asrlab", ctc_loss)):
                seconds = time_once(fn, inputs, mode, device)
                if repeat >= WARMUP:
                    times[name].append(seconds)
        native, ours = statistics.median(times["torch"]), statistics.median(times["asrlab"])
        ratio = ours / native
        print(f"{mode:<8} {native * 1e3:>10.2f} {ours * 1e3:>10.2f} {ratio:>7.2f}")
    return ratio  # the last mode is fwd+bwd


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_REPEATS} repeats instead of {REPEATS}")
    parser.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default: 1)")
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    repeats = QUICK_REPEATS if args.quick else REPEATS
    print(f"CTC loss, T={NUM_FRAMES} B={BATCH} C={NUM_CLASSES} L={NUM_LABELS}, device={args.device}, "
          f"torch {torch.__version__}, torch.set_num_threads({args.threads}), "
          f"median of {repeats} repeats after {WARMUP} warm-up")
    ratios = [bench_dtype(getattr(torch, name), args.device, repeats) for name in args.dtypes]
    print(f"\nratio: {max(ratios):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
