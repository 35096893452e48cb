"""Turn utterance jobs into audio, in parallel worker processes, reproducibly.

Usage::

    jobs = [RenderJob("0", "hello there", Voice(), sample_rate=16000, seed=1)]
    for results in render_chunks([jobs], workers=2):
        wav = results[0].wav                      # (N,) float32 at 16 kHz

Each chunk of jobs is rendered by a fresh process: eSpeak keeps state
from one utterance to the next inside a process, so a chunk must always start from the same
clean state for the output to be independent of the worker count. Everything random about an
utterance (pauses, loudness, noise) is drawn from ``RenderJob.seed``.
"""
from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait

import numpy as np

from asrlab import audio
from asrlab.data.synth import effects, espeak
from asrlab.data.synth.espeak import Voice, synthesize

LEAD_SILENCE_S = (0.08, 0.3)  # pauses around the speech, like segmented read speech
TRAIL_SILENCE_S = (0.1, 0.35)
PEAK_LEVEL = (0.35, 0.9)  # recording loudness varies per utterance
TRIM_THRESHOLD = 0.01  # |x| below this at either end is eSpeak's own padding
EVENT_GAP_S = 0.15


@dataclass(frozen=True)
class RenderJob:
    """One utterance to synthesize.

    Attributes
    ----------
    key : the utterance id, echoed in the result.
    spoken : text for the synthesizer.
    voice : the speaker's eSpeak voice.
    sample_rate : output rate in Hz (eSpeak's 22050 Hz output is resampled).
    seed : per-utterance seed for every random choice.
    snr_db : add noise at this SNR; ``None`` for clean speech.
    noise_color : "white", "pink" or "brown".
    events : ``(("start"|"end", token), ...)`` sound events around the speech.
    path : when set, the audio is written there (format from the suffix) and not returned.
    """

    key: str
    spoken: str
    voice: Voice
    sample_rate: int
    seed: int
    snr_db: float | None = None
    noise_color: str = "white"
    events: tuple[tuple[str, str], ...] = ()
    path: str | None = None


@dataclass(frozen=True)
class Rendered:
    key: str
    num_samples: int
    wav: np.ndarray | None  # (N,) float32; None when written to RenderJob.path


def _trim(wav: np.ndarray) -> np.ndarray:
    loud = np.flatnonzero(np.abs(wav) > TRIM_THRESHOLD)
    return wav[loud[0] : loud[-1] + 1] if loud.size else wav


def render(job: RenderJob) -> np.ndarray:
    """Synthesize one job; returns float32 samples in [-1, 1], shape (N,), at ``job.sample_rate``."""
    rng = np.random.default_rng(job.seed)
    speech, native_sr = synthesize(job.spoken, job.voice, seed=job.seed)  # (N0,) at 22050 Hz
    speech = _trim(speech)
    peak = float(np.abs(speech).max()) if speech.size else 0.0
    if peak > 0:
        speech = speech * (rng.uniform(*PEAK_LEVEL) / peak)
    parts = [effects.silence(rng.uniform(*LEAD_SILENCE_S), native_sr), speech,
             effects.silence(rng.uniform(*TRAIL_SILENCE_S), native_sr)]  # fmt: skip
    for where, token in job.events:
        sound = [effects.event_sound(token, native_sr, rng), effects.silence(EVENT_GAP_S, native_sr)]
        parts = sound + parts if where == "start" else parts + sound[::-1]
    wav = audio.resample(np.concatenate(parts), native_sr, job.sample_rate)  # (N,)
    if job.snr_db is not None:
        wav = effects.add_noise(wav, job.snr_db, rng, job.noise_color)
    return np.clip(wav, -1.0, 1.0).astype(np.float32)


def render_chunk(jobs: Sequence[RenderJob]) -> list[Rendered]:
    """Render jobs in order; jobs with a ``path`` are written to disk."""
    results = []
    for job in jobs:
        wav = render(job)
        if job.path is not None:
            audio.save(job.path, wav, job.sample_rate)
            results.append(Rendered(job.key, len(wav), None))
        else:
            results.append(Rendered(job.key, len(wav), wav))
    return results


def default_workers() -> int:
    """CPU cores available to this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def _context() -> mp.context.BaseContext:
    """A start method whose children begin without eSpeak state.

    Fork is preferred while this process has never loaded eSpeak: children start at once and
    nothing is re-imported, so it also works from notebooks and scripts without a main guard. Once
    the parent has synthesized, a fork would copy its engine state, so a clean fork server (or
    spawn, where fork does not exist) is used instead.
    """
    methods = mp.get_all_start_methods()
    if "fork" in methods and not espeak.engine_started():
        return mp.get_context("fork")
    if "forkserver" in methods:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])  # import numpy/soxr once in the server, not per chunk
        return ctx
    return mp.get_context("spawn")


def render_chunks(chunks: Sequence[Sequence[RenderJob]], workers: int | None = None) -> Iterator[list[Rendered]]:
    """Render every chunk in its own fresh process, yielding results in chunk order.

    Parameters
    ----------
    chunks : the unit of work; results depend only on a chunk's jobs, never on ``workers``.
    workers : processes to run at once (default: all available cores).

    Raises
    ------
    RuntimeError : a worker process died (the message says which chunk and the likely cause).
    """
    workers = default_workers() if workers is None else workers
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")  # raised now, not on first next()
    return _run_processes(list(chunks), workers)


def _child(conn: Connection, jobs: Sequence[RenderJob]) -> None:
    try:
        conn.send((True, render_chunk(jobs)))
    except BaseException as exc:  # report, so the parent can raise it instead of waiting forever
        conn.send((False, f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _run_processes(chunks: list[Sequence[RenderJob]], workers: int) -> Iterator[list[Rendered]]:
    # One process per chunk (not a long-lived pool): each chunk starts from eSpeak's initial state.
    ctx = _context()
    running: dict[int, tuple[mp.process.BaseProcess, Connection]] = {}
    finished: dict[int, list[Rendered]] = {}
    launched = delivered = 0
    try:
        while delivered < len(chunks):
            # keep `workers` busy, but never run far ahead of the chunk the caller is waiting for
            while launched < len(chunks) and len(running) < workers and launched - delivered < 2 * workers:
                receiver, sender = ctx.Pipe(duplex=False)
                process = ctx.Process(target=_child, args=(sender, chunks[launched]), daemon=True)
                process.start()
                sender.close()
                running[launched] = (process, receiver)
                launched += 1
            wait([receiver for _, receiver in running.values()] + [p.sentinel for p, _ in running.values()])
            for index, (process, receiver) in list(running.items()):
                if not receiver.poll() and process.exitcode is None:
                    continue  # still working
                try:
                    ok, payload = receiver.recv()
                except EOFError:  # the process ended without sending anything
                    process.join()
                    raise RuntimeError(
                        f"the worker process for chunk {index} exited with code {process.exitcode} before returning "
                        "audio; if you called this from a script, put the call under `if __name__ == \"__main__\":`"
                    ) from None
                if not ok:
                    raise RuntimeError(f"rendering chunk {index} failed in a worker process: {payload}")
                finished[index] = payload
                process.join()
                receiver.close()
                del running[index]
            while delivered in finished:
                yield finished.pop(delivered)
                delivered += 1
    finally:  # also reached when the caller stops iterating early
        for process, receiver in running.values():
            process.terminate()
            process.join()
            receiver.close()
