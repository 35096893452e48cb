"""An outside baseline: the pocketsphinx recognizer (CMU Sphinx, HMM-GMM + trigram LM) on a corpus split.

pocketsphinx 5.x ships a US-English acoustic model, pronunciation dictionary and language model
inside its wheel, so the baseline needs no download. Its corpus-level WER/CER on a split is the
number the course's trained models must beat.

Usage::

    asrlab baseline --root data/synth-libri --split test-clean [--limit N] [--workers N] [--output hyps.txt]

    from asrlab.baseline import run_pocketsphinx
    from asrlab.data.librispeech import scan_librispeech
    result = run_pocketsphinx(scan_librispeech("data/synth-libri", "test-clean")[:20], workers=2)
    print(result.wer, result.cer, result.real_time_factor)
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from asrlab.data.utterance import Utterance

# The bundled acoustic model is trained on 16 kHz speech; audio is resampled to it on load.
PS_SAMPLE_RATE = 16000
INT16_MAX = 32767
DEFAULT_WORKERS = min(4, os.cpu_count() or 1)

_decoder: Any = None  # one pocketsphinx Decoder per worker process (loading it takes ~1 s)


@dataclass(frozen=True)
class BaselineResult:
    """Scores and timing of one baseline run.

    Attributes
    ----------
    wer, cer : corpus-level error rates of the normalized transcripts (see :mod:`asrlab.metrics`).
    n : number of utterances decoded.
    seconds : wall-clock time of the whole run, model loading in the worker processes included.
    audio_seconds : total duration of the decoded audio.
    hypotheses : recognized text, one per utterance, in the order of the input.
    """

    wer: float
    cer: float
    n: int
    seconds: float
    audio_seconds: float
    hypotheses: list[str]

    @property
    def real_time_factor(self) -> float:
        """Wall-clock seconds per second of audio (below 1 = faster than real time)."""
        return self.seconds / self.audio_seconds if self.audio_seconds else float("nan")


def _pocketsphinx() -> Any:
    try:
        import pocketsphinx
    except ImportError as exc:
        raise ModuleNotFoundError(
            "the baseline needs pocketsphinx 5.x: pip install 'pocketsphinx>=5.0' (or asrlab[baseline])"
        ) from exc
    return pocketsphinx


def model_paths() -> dict[str, Path]:
    """Acoustic model directory (``hmm``), language model (``lm``) and dictionary (``dict``) in the wheel."""
    root = Path(_pocketsphinx().get_model_path()) / "en-us"
    paths = {"hmm": root / "en-us", "lm": root / "en-us.lm.bin", "dict": root / "cmudict-en-us.dict"}
    missing = [str(p) for p in paths.values() if not p.exists()]
    if missing:
        raise FileNotFoundError(f"pocketsphinx model files missing: {', '.join(missing)}; reinstall pocketsphinx")
    return paths


def new_decoder() -> Any:
    """A pocketsphinx ``Decoder`` with the bundled US-English models at 16 kHz, logging silenced."""
    ps = _pocketsphinx()
    paths = model_paths()
    return ps.Decoder(hmm=str(paths["hmm"]), lm=str(paths["lm"]), dict=str(paths["dict"]),
                      samprate=PS_SAMPLE_RATE, loglevel="FATAL")


def recognize(wav: np.ndarray, decoder: Any) -> str:
    """Decode one (N,) float waveform at 16 kHz in one pass; returns the word string ('' if nothing).

    The decoder's noise-removal filter and cepstral mean adapt from utterance to utterance, which
    would make a hypothesis depend on what the process decoded before (and so on how utterances
    were shared among workers). Re-creating the feature extractor (well under a millisecond) makes
    every utterance decode as with a fresh decoder.
    """
    pcm = (np.clip(wav, -1.0, 1.0) * INT16_MAX).astype("<i2").tobytes()  # the decoder reads 16-bit PCM
    decoder.reinit_feat()
    decoder.start_utt()
    decoder.process_raw(pcm, no_search=False, full_utt=True)
    decoder.end_utt()
    hyp = decoder.hyp()
    return hyp.hypstr if hyp is not None else ""


def _recognize_file(path: str) -> tuple[str, float]:
    """Worker task: (hypothesis, audio seconds) of one audio file."""
    from asrlab.audio import load

    global _decoder
    if _decoder is None:
        _decoder = new_decoder()
    wav, _ = load(path, sample_rate=PS_SAMPLE_RATE)
    return recognize(wav, _decoder), wav.size / PS_SAMPLE_RATE


def _check_utterances(utterances: Sequence[Utterance]) -> None:
    if not utterances:
        raise ValueError("run_pocketsphinx got no utterances; check the corpus root and split")
    for utt in utterances:
        if utt.audio_path is None or utt.text is None:
            raise ValueError(f"utterance {utt.utt_id}: the baseline needs an audio file and a transcript, "
                             f"got audio_path={utt.audio_path} and text={utt.text!r}")


def run_pocketsphinx(
    utterances: Sequence[Utterance], workers: int = DEFAULT_WORKERS, progress: bool = False
) -> BaselineResult:
    """Recognize every utterance with pocketsphinx and score the result.

    Parameters
    ----------
    utterances : utterances with ``audio_path`` and ``text`` (e.g. from ``scan_librispeech``).
    workers : decoder processes; 1 decodes in this process.
    progress : show a progress bar on stderr.

    Returns
    -------
    BaselineResult with corpus-level WER/CER of ``normalize_transcript``-ed references and hypotheses.
    """
    from tqdm import tqdm

    from asrlab.metrics import cer, wer

    _check_utterances(utterances)
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    paths = [str(u.audio_path) for u in utterances]
    bar = {"disable": not progress, "desc": "pocketsphinx", "unit": "utt"}
    start = time.perf_counter()
    if workers == 1:
        outputs = [_recognize_file(p) for p in tqdm(paths, **bar)]
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn: workers start clean (no forked threads or GPU state from a notebook or trainer).
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(workers, len(paths)), mp_context=context) as pool:
            outputs = list(tqdm(pool.map(_recognize_file, paths), total=len(paths), **bar))
    seconds = time.perf_counter() - start
    hypotheses = [hyp for hyp, _ in outputs]
    refs = [u.text for u in utterances]
    return BaselineResult(
        wer=wer(refs, hypotheses, normalize=True),
        cer=cer(refs, hypotheses, normalize=True),
        n=len(utterances),
        seconds=seconds,
        audio_seconds=sum(dur for _, dur in outputs),
        hypotheses=hypotheses,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", required=True, type=Path, help="LibriSpeech-layout corpus directory")
    parser.add_argument("--split", default="test-clean", help="split folder name (default: test-clean)")
    parser.add_argument("--limit", type=int, default=None, help="decode only the first N utterances")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                        help=f"decoder processes (default: {DEFAULT_WORKERS})")
    parser.add_argument("--output", type=Path, default=None,
                        help="write '<utt_id> <hypothesis>' lines to this file")


def run(args: argparse.Namespace) -> int:
    from asrlab.data.librispeech import scan_librispeech

    if args.limit is not None and args.limit < 1:
        raise SystemExit(f"--limit must be a positive number of utterances, got {args.limit}")
    utterances = scan_librispeech(args.root, args.split)[: args.limit]
    print(f"pocketsphinx on {args.root}/{args.split}: {len(utterances)} utterances, {args.workers} workers",
          file=sys.stderr)
    result = run_pocketsphinx(utterances, workers=args.workers, progress=True)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"{u.utt_id} {hyp}\n" for u, hyp in zip(utterances, result.hypotheses)]
        args.output.write_text("".join(lines), encoding="utf-8")
    print(f"utterances  {result.n}")
    print(f"WER         {100 * result.wer:.2f}%")
    print(f"CER         {100 * result.cer:.2f}%")
    print(f"audio       {result.audio_seconds:.1f} s")
    print(f"wall time   {result.seconds:.1f} s  (real-time factor {result.real_time_factor:.3f})")
    return 0
