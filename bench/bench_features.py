"""Throughput of the batched torch log-Mel front end against the per-utterance librosa pipeline.

Both compute the same HarperValleyBank features (8 kHz, n_fft 256, hop 128, 128 mels, dB scale,
per-frame peak normalization); the script checks they agree, then times each on the same batch
and prints the speed ratio measured in this run.

Usage::

    python bench/bench_features.py [--batch 32] [--seconds 4] [--repeats 5] [--threads 1] [--device cpu]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from asrlab.features import HVB_FEATURES, LogMel, librosa_log_mel

AGREEMENT_ATOL = 1e-4


def _best_time(fn, repeats: int) -> float:
    """Fastest of ``repeats`` runs: the least disturbed by other processes on a shared machine."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=4.0, help="audio per utterance")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (librosa uses one)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rng = np.random.default_rng(0)
    num_samples = int(args.seconds * HVB_FEATURES["sample_rate"])
    wavs = (0.1 * rng.standard_normal((args.batch, num_samples))).astype(np.float32)  # (B, N)
    front_end = LogMel(**HVB_FEATURES, log_scale="db", frame_normalize=True).to(args.device)
    batch = torch.from_numpy(wavs).to(args.device)

    def run_torch() -> torch.Tensor:
        with torch.no_grad():
            feats, _ = front_end(batch)
        if batch.is_cuda:
            torch.cuda.synchronize()
        return feats

    def run_librosa() -> list[np.ndarray]:
        return [librosa_log_mel(w) for w in wavs]

    reference, feats = run_librosa(), run_torch().cpu().numpy()  # warm-up doubles as the agreement check
    worst = max(float(np.abs(f - r).max()) for f, r in zip(feats, reference))
    assert worst < AGREEMENT_ATOL, f"torch and librosa features differ by {worst}"

    t_librosa = _best_time(run_librosa, args.repeats)
    t_torch = _best_time(run_torch, args.repeats)
    audio_s = args.batch * args.seconds
    print(f"batch {args.batch} x {args.seconds:g} s at {HVB_FEATURES['sample_rate']} Hz, "
          f"device {args.device}, torch threads {args.threads}, max |diff| {worst:.2e}")
    print(f"librosa per utterance : {t_librosa * 1e3:8.1f} ms  ({audio_s / t_librosa:8.0f} s audio / s)")
    print(f"torch LogMel batched  : {t_torch * 1e3:8.1f} ms  ({audio_s / t_torch:8.0f} s audio / s)")
    print(f"speed-up torch / librosa: {t_librosa / t_torch:.2f}x")


if __name__ == "__main__":
    main()
