"""Generate the synthetic corpora: LibriSpeech-style, HarperValleyBank-style and a custom directory.

Usage::

    from asrlab.data.synth import make_librispeech, make_hvb, make_custom
    print(make_librispeech("data/synth-libri", hours=2, seed=0))
    print(make_hvb("data/synth-hvb", hours=1, seed=0))
    make_custom("data/synth-custom", n=20)

Everything is planned up front in the parent process from ``seed`` (speakers, texts, labels, noise
levels, one seed per utterance); worker processes only render audio, so the corpus is the same
for any ``workers``. Re-running with the same arguments over a complete corpus does nothing: the
``synth.json`` manifest records the parameters and whether generation finished.
"""
from __future__ import annotations

import math
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from asrlab import audio
from asrlab.data.synth import writers
from asrlab.data.synth.banking import BankingDialogs
from asrlab.data.synth.lexicon import load_lexicon
from asrlab.data.synth.render import Rendered, RenderJob, render_chunks
from asrlab.data.synth.sentences import BookSentences, normalize_transcript
from asrlab.data.synth.speakers import Speaker, sample_speakers
from asrlab.data.synth.summary import CorpusSummary, SplitSummary
from asrlab.errors import AsrlabError

GENERATOR = "asrlab.data.synth"
GENERATOR_VERSION = 1  # bump when the same arguments would produce different output
CHUNK_SIZE = 48  # utterances per worker process (the unit that makes results worker-independent)

LIBRISPEECH_SPLITS = ("train-clean", "dev-clean", "test-clean", "test-other")
SPLIT_SHARE = {"train-clean": 0.82, "dev-clean": 0.06, "test-clean": 0.06, "test-other": 0.06}
TRAIN_SPEAKERS_PER_HOUR = 12  # ~5 minutes per training speaker
EVAL_SPEAKERS_PER_HOUR = 2
MIN_TRAIN_SPEAKERS = 4
MIN_EVAL_SPEAKERS = 2
MIN_UTTERANCES_PER_SPEAKER = 2
UTTERANCES_PER_CHAPTER = 40
CHAPTER_ID_RANGE = (1000, 200000)
OTHER_SNR_DB = (10.0, 20.0)  # test-other: clearly noisy, still intelligible
NOISE_COLORS = ("white", "pink", "brown")

DEFAULT_LIBRISPEECH_HOURS = 2.0
DEFAULT_HVB_HOURS = 1.0
DEFAULT_HVB_SPEAKERS = 40  # an 80/10/10 speaker split leaves 4 unseen speakers each for val and test
HVB_LINE_SNR_DB = (25.0, 35.0)  # faint telephone-line hiss
DEFAULT_CUSTOM_UTTERANCES = 20
CUSTOM_SPEAKERS = 4
CUSTOM_FORMATS = ("wav", "flac", "mixed")

# Duration model for planning, fitted on rendered utterances: ~18 characters per second at 175 wpm.
CHARS_PER_SECOND_AT_175 = 18.3
DEFAULT_RATE_WPM = 175
PADDING_SECONDS = 0.43  # mean lead + trail silence added by the renderer


class CorpusExistsError(AsrlabError, ValueError):
    """The output directory holds something other than this exact corpus."""


def estimate_seconds(spoken: str, rate_wpm: int) -> float:
    """Planned duration of an utterance (the real one is measured after rendering)."""
    return len(spoken) / CHARS_PER_SECOND_AT_175 * DEFAULT_RATE_WPM / rate_wpm + PADDING_SECONDS


def _utterance_seed(seed: int, index: int) -> int:
    return int(np.random.SeedSequence([seed, 3, index]).generate_state(1)[0])


def _check_args(hours: float, seed: int, workers: int | None) -> None:
    if not (isinstance(hours, (int, float)) and hours > 0 and math.isfinite(hours)):
        raise ValueError(f"hours must be a positive number, got {hours!r}")
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a positive integer or None (all cores), got {workers!r}")


def _start(root: Path, corpus: str, params: dict, outputs: Sequence[str], overwrite: bool) -> CorpusSummary | None:
    """Return the existing summary if ``root`` already holds this corpus; otherwise clear our outputs.

    ``outputs`` are the names in ``root`` this generator writes; nothing else is ever deleted.
    """
    manifest = writers.read_manifest(root)
    wanted = _identity(corpus, params)
    if manifest is not None:
        same = all(manifest.get(key) == value for key, value in wanted.items())
        if same and manifest.get("complete"):
            return CorpusSummary.from_dict(manifest["summary"], root)
        if not same and manifest.get("complete") and not overwrite:
            raise CorpusExistsError(
                f"{root} already holds a synthetic {manifest.get('corpus')} corpus made with different parameters "
                f"{manifest.get('params')}; pass another output directory, or overwrite=True (--overwrite) to replace it"
            )
    elif root.exists() and any(root.iterdir()) and not overwrite:
        raise CorpusExistsError(
            f"{root} is not empty and has no {writers.MANIFEST_NAME}; pass an empty or new output directory, "
            "or overwrite=True (--overwrite) to write the corpus next to its contents"
        )
    for name in outputs:  # an interrupted or replaced run: remove its files before starting again
        path = root / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    writers.write_manifest(root, {**wanted, "complete": False})
    return None


def _identity(corpus: str, params: dict) -> dict:
    """The manifest fields that decide whether an existing corpus is the one asked for."""
    return {"generator": GENERATOR, "version": GENERATOR_VERSION, "corpus": corpus, "params": params}


def _finish(root: Path, corpus: str, params: dict, summary: CorpusSummary, extra: dict) -> CorpusSummary:
    manifest = {**_identity(corpus, params), "complete": True, "summary": summary.to_dict(), **extra}
    writers.write_manifest(root, manifest)
    return summary


def _render(jobs: list[RenderJob], workers: int | None, progress: bool, desc: str) -> dict[str, Rendered]:
    """Render all jobs; returns results by key (arrays kept only for jobs without a path)."""
    from tqdm.auto import tqdm  # lazy: keeps `import asrlab.data.synth` light

    chunks = [jobs[i : i + CHUNK_SIZE] for i in range(0, len(jobs), CHUNK_SIZE)]
    results: dict[str, Rendered] = {}
    with tqdm(total=len(jobs), desc=desc, unit="utt", disable=not progress) as bar:
        for chunk_results in render_chunks(chunks, workers):
            results.update((r.key, r) for r in chunk_results)
            bar.update(len(chunk_results))
    return results


def _json_params(**params) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()}


# --------------------------------------------------------------------------- LibriSpeech


@dataclass(frozen=True)
class _BookUtterance:
    split: str
    speaker: int
    chapter: int
    index: int
    transcript: str


def _speaker_counts(hours: float) -> dict[str, int]:
    train = max(MIN_TRAIN_SPEAKERS, round(TRAIN_SPEAKERS_PER_HOUR * hours))
    other = max(MIN_EVAL_SPEAKERS, round(EVAL_SPEAKERS_PER_HOUR * hours))
    return {split: (train if split == "train-clean" else other) for split in LIBRISPEECH_SPLITS}


def make_librispeech(
    out: str | Path,
    hours: float = DEFAULT_LIBRISPEECH_HOURS,
    seed: int = 0,
    workers: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
    words_per_list: int | None = None,
) -> CorpusSummary:
    """Write a LibriSpeech-style corpus of about ``hours`` hours of 16 kHz read speech.

    Splits ``train-clean`` (82 %), ``dev-clean``, ``test-clean`` and ``test-other`` (6 % each, the
    last with additive noise at 10-20 dB SNR) have disjoint speakers.

    Parameters
    ----------
    out : corpus root; created if needed.
    hours : total planned audio; the measured total is in the returned summary.
    seed : everything about the corpus follows from it.
    workers : rendering processes (default: all cores); does not change the output.
    progress : show a progress bar.
    overwrite : replace a corpus made with other parameters (or write into a non-empty directory).
    words_per_list : keep only this many entries of each open word list (a vocabulary of about
        ``10 * words_per_list`` words plus the closed classes); None keeps the full lexicon.
    """
    _check_args(hours, seed, workers)
    root = Path(out).expanduser()
    params = _json_params(hours=float(hours), seed=seed)
    if words_per_list is not None:  # recorded only when used, so full-lexicon manifests stay as they were
        params["words_per_list"] = words_per_list
    done = _start(root, "librispeech", params, LIBRISPEECH_SPLITS, overwrite)
    if done is not None:
        return done

    speaker_rng, text_rng, noise_rng = (np.random.default_rng([seed, stream]) for stream in range(3))
    counts = _speaker_counts(hours)
    speakers = sample_speakers(sum(counts.values()), speaker_rng)
    chapter_pool = iter(speaker_rng.choice(np.arange(*CHAPTER_ID_RANGE), size=10 * len(speakers), replace=False))
    lexicon = load_lexicon() if words_per_list is None else load_lexicon().head(words_per_list)
    sentences = BookSentences(text_rng, lexicon)

    planned: list[_BookUtterance] = []
    jobs: list[RenderJob] = []
    first = 0
    for split in LIBRISPEECH_SPLITS:
        split_speakers = speakers[first : first + counts[split]]
        first += counts[split]
        per_speaker = hours * SPLIT_SHARE[split] * 3600.0 / len(split_speakers)
        for speaker in split_speakers:
            texts, planned_seconds = [], 0.0
            while planned_seconds < per_speaker or len(texts) < MIN_UTTERANCES_PER_SPEAKER:
                texts.append(sentences.utterance())
                planned_seconds += estimate_seconds(texts[-1], speaker.voice.rate)
            num_chapters = math.ceil(len(texts) / UTTERANCES_PER_CHAPTER)
            chapters = sorted(int(next(chapter_pool)) for _ in range(num_chapters))
            for i, spoken in enumerate(texts):
                chapter, index = chapters[i // UTTERANCES_PER_CHAPTER], i % UTTERANCES_PER_CHAPTER
                noisy = split.endswith("-other")
                snr = float(noise_rng.uniform(*OTHER_SNR_DB)) if noisy else None
                color = NOISE_COLORS[int(noise_rng.integers(len(NOISE_COLORS)))] if noisy else "white"
                path = writers.librispeech_audio_path(root, split, speaker.speaker_id, chapter, index)
                key = writers.librispeech_utt_id(speaker.speaker_id, chapter, index)
                jobs.append(RenderJob(key, spoken, speaker.voice, audio.SAMPLE_RATE, _utterance_seed(seed, len(jobs)), snr, color, path=str(path)))
                planned.append(_BookUtterance(split, speaker.speaker_id, chapter, index, normalize_transcript(spoken)))

    results = _render(jobs, workers, progress, "librispeech")

    chapters: dict[tuple[str, int, int], list[str]] = {}
    for utt in planned:
        chapters.setdefault((utt.split, utt.speaker, utt.chapter), []).append(utt.transcript)
    for (split, speaker_id, chapter), transcripts in chapters.items():
        writers.write_trans(root, split, speaker_id, chapter, transcripts)

    splits, speaker_lines = {}, {}
    by_id = {s.speaker_id: s for s in speakers}
    for split in LIBRISPEECH_SPLITS:
        rows = [(u, job) for u, job in zip(planned, jobs) if u.split == split]
        splits[split] = SplitSummary.of(
            (results[job.key].num_samples / audio.SAMPLE_RATE for _, job in rows),
            (u.speaker for u, _ in rows),
            (u.transcript for u, _ in rows),
        )
        speaker_lines[split] = [by_id[i].describe() for i in sorted({u.speaker for u, _ in rows})]
    vocabulary = len({w for u in planned for w in u.transcript.split()})
    summary = CorpusSummary("librispeech", root, seed, splits, vocabulary)
    return _finish(root, "librispeech", params, summary, {"speakers": speaker_lines})


# --------------------------------------------------------------------------- HarperValleyBank


def make_hvb(
    out: str | Path,
    hours: float = DEFAULT_HVB_HOURS,
    seed: int = 0,
    workers: int | None = None,
    speakers: int = DEFAULT_HVB_SPEAKERS,
    progress: bool = True,
    overwrite: bool = False,
) -> CorpusSummary:
    """Write a HarperValleyBank-style corpus (``data.h5`` + ``labels.npz``) of about ``hours`` hours at 8 kHz.

    One file holds the whole corpus; readers split it by speaker. Every speaker takes part in at
    least one call, so ``speakers`` sets the number of distinct speaker ids.

    Parameters
    ----------
    out, hours, seed, workers, progress, overwrite : as in :func:`make_librispeech`.
    speakers : distinct speakers (each call pairs an agent and a caller).
    """
    _check_args(hours, seed, workers)
    if not isinstance(speakers, int) or speakers < 2:
        raise ValueError(f"speakers must be an integer >= 2 (a call needs an agent and a caller), got {speakers!r}")
    root = Path(out).expanduser()
    params = _json_params(hours=float(hours), seed=seed, speakers=speakers)
    done = _start(root, "hvb", params, writers.HVB_OUTPUTS, overwrite)
    if done is not None:
        return done

    speaker_rng, text_rng, noise_rng = (np.random.default_rng([seed, stream]) for stream in range(3))
    pool = sample_speakers(speakers, speaker_rng)
    order = [pool[i] for i in speaker_rng.permutation(speakers)]  # agents/callers cycle through everyone
    dialogs = BankingDialogs(text_rng)
    target = hours * 3600.0
    min_calls = math.ceil(speakers / 2)

    utterances, utt_speakers, jobs = [], [], []
    planned_seconds, call = 0.0, 0
    while planned_seconds < target or call < min_calls:
        agent, caller = order[(2 * call) % speakers], order[(2 * call + 1) % speakers]
        for utt in dialogs.conversation():
            speaker: Speaker = agent if utt.role == "agent" else caller
            key = str(len(jobs))
            snr = float(noise_rng.uniform(*HVB_LINE_SNR_DB))
            jobs.append(RenderJob(key, utt.spoken, speaker.voice, audio.HVB_SAMPLE_RATE, _utterance_seed(seed, len(jobs)), snr, events=utt.events))
            utterances.append(utt)
            utt_speakers.append(speaker.speaker_id)
            planned_seconds += estimate_seconds(utt.spoken, speaker.voice.rate)
        call += 1

    results = _render(jobs, workers, progress, "hvb")
    writer = writers.HVBWriter(root)
    for job in jobs:
        writer.add(results[job.key].wav)
    writer.close(
        transcripts=[u.text for u in utterances],
        speaker_ids=utt_speakers,
        task_types=[u.task_type for u in utterances],
        dialog_acts=[u.dialog_acts for u in utterances],
        sentiments=np.array([u.sentiment for u in utterances], dtype=np.float32),
    )
    split = SplitSummary.of(
        (results[job.key].num_samples / audio.HVB_SAMPLE_RATE for job in jobs), utt_speakers, (u.text for u in utterances)
    )
    summary = CorpusSummary("hvb", root, seed, {"all": split}, split.vocabulary)
    return _finish(root, "hvb", params, summary, {"calls": call, "speakers": [s.describe() for s in pool]})


# --------------------------------------------------------------------------- custom directory


def make_custom(
    out: str | Path,
    n: int = DEFAULT_CUSTOM_UTTERANCES,
    seed: int = 0,
    with_transcripts: bool = True,
    workers: int | None = None,
    audio_format: str = "wav",
    progress: bool = True,
    overwrite: bool = False,
    words_per_list: int | None = None,
    rate_scale: tuple[float, float] | None = None,
    snr_db: tuple[float, float] | None = None,
) -> CorpusSummary:
    """Write ``n`` utterances as ``<out>/audio/<id>.<audio_format>`` (16 kHz) and, optionally,
    ``<out>/transcriptions/<id>.txt`` with the lowercase normalized transcript.

    Parameters
    ----------
    out, seed, workers, progress, overwrite, words_per_list : as in :func:`make_librispeech`.
    n : number of utterances, read by four speakers in turn.
    audio_format : "wav", "flac", or "mixed" (wav and flac in turn).
    with_transcripts : write the ``transcriptions`` folder (a recognizer's unlabeled input when False).
    rate_scale : (low, high): each utterance's speaking rate is its speaker's times a factor drawn from
        this range (None: the speaker's own rate).
    snr_db : (low, high): add white, pink or brown noise at an SNR drawn from this range (None: clean).
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive number of utterances, got {n!r}")
    if audio_format not in CUSTOM_FORMATS:
        raise ValueError(f"audio_format must be one of {CUSTOM_FORMATS}, got {audio_format!r}")
    for name, pair in (("rate_scale", rate_scale), ("snr_db", snr_db)):
        if pair is not None and not (len(pair) == 2 and all(math.isfinite(float(v)) for v in pair)
                                     and float(pair[0]) <= float(pair[1])):
            raise ValueError(f"{name} must be None or a (low, high) pair of finite numbers, got {pair!r}")
    if rate_scale is not None and float(rate_scale[0]) <= 0:
        raise ValueError(f"rate_scale must be positive factors, got {rate_scale!r}")
    _check_args(1.0, seed, workers)
    root = Path(out).expanduser()
    params = _json_params(n=n, seed=seed, with_transcripts=bool(with_transcripts), audio_format=audio_format)
    extras = {"words_per_list": words_per_list, "rate_scale": rate_scale, "snr_db": snr_db}
    params.update(_json_params(**{k: v for k, v in extras.items() if v is not None}))  # recorded only when used
    done = _start(root, "custom", params, ("audio", "transcriptions"), overwrite)
    if done is not None:
        return done

    speaker_rng, text_rng, effect_rng = (np.random.default_rng([seed, stream]) for stream in (10, 11, 12))
    voices = sample_speakers(CUSTOM_SPEAKERS, speaker_rng)
    lexicon = load_lexicon() if words_per_list is None else load_lexicon().head(words_per_list)
    sentences = BookSentences(text_rng, lexicon)
    jobs, transcripts, owners = [], {}, []
    for i in range(n):
        speaker = voices[i % CUSTOM_SPEAKERS]
        utt_id = f"utt{i:04d}"
        spoken = sentences.utterance()
        suffix = ("wav", "flac")[i % 2] if audio_format == "mixed" else audio_format
        path = root / "audio" / f"{utt_id}.{suffix}"
        voice = speaker.voice
        if rate_scale is not None:
            voice = replace(voice, rate=int(round(voice.rate * effect_rng.uniform(*rate_scale))))
        snr = float(effect_rng.uniform(*snr_db)) if snr_db is not None else None
        color = NOISE_COLORS[int(effect_rng.integers(len(NOISE_COLORS)))] if snr_db is not None else "white"
        jobs.append(RenderJob(utt_id, spoken, voice, audio.SAMPLE_RATE, _utterance_seed(seed, i), snr, color,
                              path=str(path)))
        transcripts[utt_id] = normalize_transcript(spoken).lower()
        owners.append(speaker.speaker_id)
    results = _render(jobs, workers, progress, "custom")
    if with_transcripts:
        writers.write_transcriptions(root, transcripts.items())
    split = SplitSummary.of(
        (results[j.key].num_samples / audio.SAMPLE_RATE for j in jobs), owners, transcripts.values() if with_transcripts else ()
    )
    summary = CorpusSummary("custom", root, seed, {"all": split}, split.vocabulary)
    return _finish(root, "custom", params, summary, {})
