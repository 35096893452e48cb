"""Benchmark ``asrlab.rnnt.rnnt_loss`` (forward + backward) against peers measured in the same run.

Usage::

    python bench/rnnt_loss.py                  # B=8, T=200, U=40, V=30 on CPU, 15 rounds
    python bench/rnnt_loss.py --quick          # 5 rounds, well under 60 s on 2 cores
    python bench/rnnt_loss.py --threads 2      # torch intra-op threads (default 1, see below)
    python bench/rnnt_loss.py --device cuda    # on a GPU (peak memory from the CUDA allocator)
    python bench/rnnt_loss.py --batch 16 --frames 400 --labels 80 --vocab 500

Peers, all on the same logits:

* ``log_softmax``: ``log_softmax(logits).sum()`` forward + backward, the natural lower bound
  (any fused RNN-T loss must at least normalise the logits and write a gradient of that size);
* ``autograd loop``: a plain per-anti-diagonal loop differentiated by autograd;
* ``torchaudio``: ``torchaudio.functional.rnnt_loss`` when torchaudio imports.

Timing: one warm-up call each, then rounds that run every implementation once in turn (so
load from other processes hits all of them alike); the median per implementation is reported.
Every implementation runs with the same number of torch threads, 1 by default: on a machine
shared with other jobs, each multi-threaded op waits for a second core at a barrier, which
measures the scheduler rather than the code (``--threads 2`` shows it; asrlab itself keeps its
O(B T U) lattice ops on one thread for that reason).

Peak memory (CPU): measured in a fresh subprocess, each implementation in turn; the figure is
the growth of the peak resident set (``VmHWM``, reset through ``/proc/self/clear_refs`` just
before the call) over the resident set before one forward + backward, after the logits exist,
after a tiny warm-up call and after ``malloc_trim`` returned earlier jobs' freed memory: every
byte the call itself holds at its peak, the gradient included (torch CPU tensors are invisible
to tracemalloc). It is also given in units of one (B, T, U+1, V) float32 buffer; the gradient
itself is 1.0. At V=30 asrlab's O(B T U) lattice tensors (float64) still show, so memory is
also measured at V=512, where they are negligible. On CUDA the figure is the growth of
``torch.cuda.max_memory_allocated``.

After the table the bench prints where asrlab's time goes (each stage of ``rnnt_loss`` timed on
its own) and what the remaining gap to log_softmax is made of: the full-size stages (log_softmax,
and backward turning that buffer into the gradient) against the O(B T U) lattice stages, whose
largest part is the wavefront's T+U-1 sequential steps.

The last line is ``ratio: X`` = asrlab time / log_softmax time (goal <= 1.5, on 1 and on 2 threads).
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import torch

from asrlab.rnnt import LOG_ZERO, rnnt_loss

QUICK_ROUNDS = 5
FULL_ROUNDS = 15
LOOP_PEER_MAX_ROUNDS = 3  # the autograd loop is ~10x slower; a few rounds suffice for its median
BYTES_PER_KIB = 1024
LARGE_VOCAB = 512  # memory is also measured at this V, where only (B, T, U+1, V) buffers matter


def make_inputs(batch: int, frames: int, labels: int, vocab: int, device: str, seed: int = 0):
    """Random logits (B, T, U+1, V) with full lengths; blank is the last index."""
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(batch, frames, labels + 1, vocab, generator=generator).to(device)
    targets = torch.randint(0, vocab - 1, (batch, labels), generator=generator).to(device)
    logit_lengths = torch.full((batch,), frames, dtype=torch.int32, device=device)
    target_lengths = torch.full((batch,), labels, dtype=torch.int32, device=device)
    return logits.requires_grad_(), targets, logit_lengths, target_lengths


def autograd_loop_costs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Peer: full-length RNN-T costs (B,) by a plain anti-diagonal loop, for autograd to differentiate.

    Blank is the last index. alpha over diagonal n holds cells (n - u, u) for u in [0, U]; the
    finite LOG_ZERO keeps autograd through logaddexp free of inf - inf.
    """
    log_probs = logits.log_softmax(dim=-1)  # (B, T, U1, V)
    batch, frames, states, _ = log_probs.shape
    blank_lp = log_probs[..., -1]  # (B, T, U1)
    label_lp = log_probs[:, :, :-1].gather(
        3, targets.long()[:, None, :, None].expand(batch, frames, states - 1, 1)).squeeze(3)  # (B, T, U)
    u = torch.arange(states, device=logits.device)
    alpha = torch.full((batch, states), LOG_ZERO, device=logits.device, dtype=log_probs.dtype)
    alpha = torch.cat([alpha[:, :1] * 0, alpha[:, 1:]], dim=1)  # alpha(0, 0) = 0
    for n in range(1, frames + states - 1):
        t_blank = n - 1 - u  # blank move from (n-1-u, u) into (n-u, u)
        blank_ok = (t_blank >= 0) & (t_blank < frames)
        from_blank = torch.where(blank_ok, alpha + blank_lp[:, t_blank.clamp(0, frames - 1), u], LOG_ZERO)
        t_label = (n - u)[1:]  # label move from (n-u, u-1) into (n-u, u)
        label_ok = (t_label >= 0) & (t_label < frames)
        from_label = torch.where(
            label_ok, alpha[:, :-1] + label_lp[:, t_label.clamp(0, frames - 1), u[:-1]], LOG_ZERO)
        alpha = torch.cat([from_blank[:, :1], torch.logaddexp(from_blank[:, 1:], from_label)], dim=1)
    return -(alpha[:, -1] + blank_lp[:, -1, -1])


def implementations() -> dict[str, Callable]:
    """name -> function(logits, targets, logit_lengths, target_lengths) returning a scalar loss."""
    impls: dict[str, Callable] = {
        "asrlab": lambda x, y, xl, yl: rnnt_loss(x, y, xl, yl, blank=-1, reduction="sum"),
        "log_softmax": lambda x, y, xl, yl: torch.log_softmax(x, dim=-1).sum(),
        "autograd loop": lambda x, y, xl, yl: autograd_loop_costs(x, y).sum(),
    }
    try:
        import torchaudio.functional as taf

        impls["torchaudio"] = lambda x, y, xl, yl: taf.rnnt_loss(
            x, y.int(), xl.int(), yl.int(), blank=-1, reduction="sum")
    except Exception:  # torchaudio missing or built against another torch
        pass
    return impls


def run_once(fn: Callable, inputs, device: str) -> float:
    logits = inputs[0]
    logits.grad = None
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn(*inputs).backward()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start


def time_all(impls: dict[str, Callable], inputs, device: str, rounds: int) -> dict[str, float]:
    """Median seconds per forward + backward, implementations interleaved round by round."""
    samples: dict[str, list[float]] = {name: [] for name in impls}
    for fn in impls.values():
        run_once(fn, inputs, device)  # warm-up: thread pools, allocator, lazy imports
    for round_index in range(rounds):
        for name, fn in impls.items():
            if name == "autograd loop" and round_index >= LOOP_PEER_MAX_ROUNDS:
                continue
            samples[name].append(run_once(fn, inputs, device))
    return {name: statistics.median(values) for name, values in samples.items()}


def memory_child(args: argparse.Namespace) -> None:
    """Run each requested (implementation, vocab) once; print peak-memory growths in bytes as JSON."""
    impls = implementations()
    results = {}
    for job in args.memory_child.split(","):
        name, vocab = job.rsplit(":", 1)
        fn = impls[name]
        run_once(fn, make_inputs(2, 3, 2, int(vocab), args.device), args.device)  # tiny warm-up
        inputs = make_inputs(args.batch, args.frames, args.labels, int(vocab), args.device)
        _release_freed_memory()
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            before = torch.cuda.memory_allocated()
            run_once(fn, inputs, args.device)
            results[job] = torch.cuda.max_memory_allocated() - before
        else:
            before = _reset_peak_rss()
            run_once(fn, inputs, args.device)
            results[job] = _peak_rss() - before
        del inputs
    print(json.dumps(results))


def _release_freed_memory() -> None:
    """Hand freed heap memory back to the OS so the next job's peak RSS counts all its bytes."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: jobs after the first may read low
        pass


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"/proc/self/status has no {field}")


def _reset_peak_rss() -> int:
    """Reset the peak-RSS mark to the current RSS (Linux clear_refs); returns the RSS in bytes.

    Importing torch peaks above what a small benchmark allocates, so the high-water mark must be
    reset before the measured call. Without /proc (macOS), fall back to ru_maxrss growth.
    """
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")  # 5 = reset VmHWM to VmRSS
        return _status_kib("VmRSS") * BYTES_PER_KIB
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * BYTES_PER_KIB


def _peak_rss() -> int:
    try:
        return _status_kib("VmHWM") * BYTES_PER_KIB
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * BYTES_PER_KIB


def measure_memory(jobs: list[tuple[str, int]], args: argparse.Namespace) -> dict[tuple[str, int], int]:
    """Peak-memory growth in bytes per (implementation, vocab), measured in one fresh process."""
    command = [sys.executable, __file__, "--memory-child", ",".join(f"{name}:{vocab}" for name, vocab in jobs),
               "--device", args.device, "--threads", str(args.threads), "--batch", str(args.batch),
               "--frames", str(args.frames), "--labels", str(args.labels)]
    child = subprocess.run(command, capture_output=True, text=True)
    if child.returncode != 0:
        raise RuntimeError(f"memory measurement failed:\n{child.stderr}")
    growth = json.loads(child.stdout.strip().splitlines()[-1])
    return {(name, vocab): growth[f"{name}:{vocab}"] for name, vocab in jobs}


def check_agreement(impls: dict[str, Callable], inputs) -> None:
    """Print how far each peer's loss and gradient are from asrlab's (they compute the same thing)."""
    reference_loss = impls["asrlab"](*inputs)
    inputs[0].grad = None
    reference_loss.backward()
    reference_grad = inputs[0].grad.clone()
    for name in ("autograd loop", "torchaudio"):
        if name not in impls:
            continue
        inputs[0].grad = None
        loss = impls[name](*inputs)
        loss.backward()
        print(f"  {name:14s} |loss diff| {abs(loss.item() - reference_loss.item()):.2e}   "
              f"max |grad diff| {(inputs[0].grad - reference_grad).abs().max().item():.2e}")


def profile_stages(inputs, rounds: int) -> dict[str, float]:
    """Median milliseconds of each stage of ``rnnt_loss`` forward + backward, run one by one.

    The stages are those of ``asrlab.rnnt.loss._RNNTLoss`` (same functions, same order), timed
    separately, so the sum differs a little from the fused call.
    """
    from asrlab.rnnt import lattice as lat
    from asrlab.rnnt.loss import _finish_gradient
    from asrlab.rnnt.validation import check_loss_inputs

    logits, targets, logit_lengths, target_lengths = (t.detach() for t in inputs)
    _, frames, states, vocab = logits.shape
    stages: dict[str, list[float]] = {}

    def one_thread(fn: Callable) -> Callable:  # as in rnnt_loss: lattice stages on one torch thread
        def run():
            with lat.one_thread(logits.device):
                return fn()
        return run

    def timed(name: str, fn: Callable):
        start = time.perf_counter()
        result = fn()
        if logits.is_cuda:
            torch.cuda.synchronize()
        stages.setdefault(name, []).append(time.perf_counter() - start)
        return result

    for _ in range(rounds + 1):  # the first round warms up
        blank = timed("input checks", lambda: check_loss_inputs(logits, targets, logit_lengths, target_lengths,
                                                                -1, "sum"))
        lattice = timed("lattice + label columns", lambda: lat.Lattice(frames, states, logit_lengths,
                                                                        target_lengths, directions=2))
        columns = timed("lattice + label columns", lambda: lat.next_label_columns(targets, lattice, vocab))
        log_probs = timed("log_softmax (full size)", lambda: torch.log_softmax(logits, dim=-1))
        moves = timed("gather + flip moves (B,T,U+1)x2", one_thread(lambda: lat.moves_buffer(
            log_probs, columns, blank, lattice)))
        alpha, log_like = timed("wavefront alpha+beta (sequential)", one_thread(lambda: lat.forward_variables(
            moves, lattice)))
        posteriors = timed("transition posteriors", one_thread(lambda: lat.transition_posteriors(
            alpha, moves, log_like, lattice).to(logits.dtype).contiguous()))

        timed("gradient (full size, in place)", lambda: _finish_gradient(log_probs, posteriors, columns, blank, True))
    return {name: statistics.median(values[1:]) * 1e3 for name, values in stages.items()}


FULL_SIZE_STAGES = ("log_softmax (full size)", "gradient (full size, in place)")
WAVEFRONT_STAGE = "wavefront alpha+beta (sequential)"


def print_profile(profile: dict[str, float], total_ms: float, log_softmax_ms: float, steps: int,
                  threads: int) -> None:
    print(f"where asrlab's time goes (stages run one by one; the fused call measured {total_ms:.2f} ms):")
    for name, ms in profile.items():
        print(f"  {name:36s} {ms:7.2f} ms  {ms / log_softmax_ms:5.2f} x log_softmax fwd+bwd")
    print(f"  {'sum of stages':36s} {sum(profile.values()):7.2f} ms")
    full_size = sum(profile[name] for name in FULL_SIZE_STAGES)
    lattice = sum(profile.values()) - full_size
    wavefront = profile[WAVEFRONT_STAGE]
    print(f"the gap ({total_ms - log_softmax_ms:+.2f} ms over log_softmax fwd+bwd, {log_softmax_ms:.2f} ms):")
    print(f"  full-size stages {full_size:6.2f} ms = {full_size / log_softmax_ms:4.2f} x log_softmax fwd+bwd "
          "(the same two passes over a (B,T,U+1,V) buffer: normalise, then gradient in place)")
    print(f"  lattice stages   {lattice:6.2f} ms = {lattice / log_softmax_ms:4.2f} x, O(B T U) work, of which the "
          f"wavefront {wavefront:.2f} ms = {steps} sequential steps of {wavefront / steps * 1e3:.1f} us "
          "(per-call overhead, not arithmetic)")
    print(f"  fused call - sum of stages {total_ms - full_size - lattice:+6.2f} ms (not in any stage: autograd and the call's own "
          "allocations, not yet broken down)")
    if threads > 1:
        print(f"  with {threads} threads log_softmax splits both its passes across cores; asrlab splits only its "
              "full-size log_softmax and x occupancy: the wavefront, numpy's exp and the lattice stages stay on "
              "one core (the O(B T U) ops run on one torch thread by design: split, each would wait for a second "
              "core at a barrier, which on a loaded machine costs more than the op), so the fixed part of the "
              "gap weighs more against a peer that got faster")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROUNDS} rounds instead of {FULL_ROUNDS}")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--labels", type=int, default=40)
    parser.add_argument("--vocab", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads for every implementation")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.memory_child:
        memory_child(args)
        return

    impls = implementations()
    inputs = make_inputs(args.batch, args.frames, args.labels, args.vocab, args.device)
    rounds = QUICK_ROUNDS if args.quick else FULL_ROUNDS
    buffer_bytes = inputs[0].numel() * inputs[0].element_size()
    print(f"RNN-T loss forward+backward, B={args.batch} T={args.frames} U={args.labels} V={args.vocab} "
          f"on {args.device}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"median of {rounds} interleaved rounds")
    print("agreement with asrlab:")
    check_agreement(impls, inputs)

    memory = {}
    if not args.no_memory:  # a large vocabulary makes the (B, T, U+1)-sized lattice tensors negligible
        jobs = [(name, args.vocab) for name in impls] + [(name, LARGE_VOCAB) for name in ("asrlab", "log_softmax")]
        memory = measure_memory(jobs, args)
    times = time_all(impls, inputs, args.device, rounds)
    method = "CUDA max_memory_allocated growth" if args.device.startswith("cuda") else \
        "peak-RSS growth in a fresh subprocess"
    print(f"{'implementation':16s} {'time ms':>9s} {'x log_softmax':>14s}   peak memory ({method})")
    for name, seconds in times.items():
        print(f"{name:16s} {seconds * 1e3:9.2f} {seconds / times['log_softmax']:14.2f}   "
              f"{memory_text(memory.get((name, args.vocab)), buffer_bytes)}")
    print(f"one (B,T,U+1,V) float32 buffer = {buffer_bytes / 2**20:.1f} MiB")
    print_profile(profile_stages(inputs, rounds), times["asrlab"] * 1e3, times["log_softmax"] * 1e3,
                  args.frames + args.labels - 1, torch.get_num_threads())
    if not args.no_memory:
        large_buffer = buffer_bytes // args.vocab * LARGE_VOCAB
        print(f"peak memory with V={LARGE_VOCAB} (one buffer = {large_buffer / 2**20:.1f} MiB):")
        for name in ("asrlab", "log_softmax"):
            print(f"{name:16s} {'':9s} {'':14s}   {memory_text(memory[(name, LARGE_VOCAB)], large_buffer)}")
    print(f"ratio: {times['asrlab'] / times['log_softmax']:.2f}")


def memory_text(growth: int | None, buffer_bytes: int) -> str:
    if growth is None:
        return ""
    return f"{growth / 2**20:8.1f} MiB = {growth / buffer_bytes:4.2f} x (B,T,U+1,V) buffer"


if __name__ == "__main__":
    main()
