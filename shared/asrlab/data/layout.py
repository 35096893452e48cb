"""Find the utterances of a corpus directory without decoding audio (no torch import).

Two layouts are understood:

LibriSpeech (real or synthetic)::

    <root>/<split>/<speaker>/<chapter>/<speaker>-<chapter>-<utt>.flac   (.wav also accepted)
    <root>/<split>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt    "<utt_id> <TRANSCRIPT>" per line

Custom directory::

    <root>/audio/<id>.wav|.flac
    <root>/transcriptions/<id>.txt      (optional)

Usage::

    from asrlab.data.layout import scan_librispeech, librispeech_splits
    librispeech_splits("data/synth-libri")              # ['dev-clean', 'test-clean', ...]
    utts = scan_librispeech("data/synth-libri", "dev-clean")
"""
from __future__ import annotations

import os
from pathlib import Path

from asrlab.data.errors import CorpusError, require_root
from asrlab.data.utterance import Utterance

LIBRISPEECH_AUDIO_SUFFIXES = (".flac", ".wav")
CUSTOMDIR_AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
TRANS_SUFFIX = ".trans.txt"
ARCHIVE_TOP_DIR = "LibriSpeech"  # the real archives unpack into LibriSpeech/<split>/...
MAX_IDS_IN_MESSAGE = 5


def _subdirs(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))


def _librispeech_root(root: str | Path) -> Path:
    """The directory holding the split folders; accepts the parent of an unpacked ``LibriSpeech/``."""
    root = require_root(root, "librispeech")
    nested = root / ARCHIVE_TOP_DIR
    if nested.is_dir() and not any(_looks_like_split(p) for p in _subdirs(root)):
        return nested  # a fetched corpus: <cache>/librispeech/LibriSpeech/<split>
    return root


def _looks_like_split(path: Path) -> bool:
    """True when ``path/<speaker>/<chapter>/`` holds a ``*.trans.txt`` (checks the first chapter only)."""
    speakers = _subdirs(path)
    chapters = _subdirs(speakers[0]) if speakers else []
    return bool(chapters) and any(name.endswith(TRANS_SUFFIX) for name in os.listdir(chapters[0]))


def librispeech_splits(root: str | Path) -> list[str]:
    """Names of the split directories present under ``root`` (e.g. ``train-clean-100``, ``test-other``)."""
    root = _librispeech_root(root)
    return [p.name for p in _subdirs(root) if _looks_like_split(p)]


def _read_trans(path: Path) -> dict[str, str]:
    texts: dict[str, str] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        utt_id, _, text = line.partition(" ")
        if utt_id in texts:
            raise CorpusError(f"{path}:{lineno}: utterance {utt_id!r} appears twice; keep one line per utterance")
        texts[utt_id] = text.strip()
    return texts


def _preview(ids: list[str]) -> str:
    shown = ", ".join(ids[:MAX_IDS_IN_MESSAGE])
    return shown + (f" ... ({len(ids)} in all)" if len(ids) > MAX_IDS_IN_MESSAGE else "")


def _scan_chapter(chapter: Path) -> list[Utterance]:
    audio = {}
    trans_files = []
    for entry in os.scandir(chapter):
        name = entry.name
        if name.endswith(TRANS_SUFFIX):
            trans_files.append(Path(entry.path))
        elif name.endswith(LIBRISPEECH_AUDIO_SUFFIXES):
            audio[name.rsplit(".", 1)[0]] = Path(entry.path)
    expected_trans = chapter / f"{chapter.parent.name}-{chapter.name}{TRANS_SUFFIX}"
    if not trans_files:
        if not audio:
            return []
        raise CorpusError(
            f"{expected_trans}: transcript file is missing for the {len(audio)} audio files in {chapter}; "
            "restore it (one '<utt_id> <TEXT>' line per audio file) or re-create the corpus"
        )
    texts: dict[str, str] = {}
    for trans in trans_files:
        texts.update(_read_trans(trans))
    trans_name = trans_files[0] if len(trans_files) == 1 else expected_trans
    no_text = sorted(set(audio) - set(texts))
    if no_text:
        raise CorpusError(
            f"{audio[no_text[0]]}: no transcript line for {_preview(no_text)} in {trans_name}; "
            "add the missing lines or delete the audio files"
        )
    no_audio = sorted(set(texts) - set(audio))
    if no_audio:
        raise CorpusError(
            f"{trans_name}: lines for {_preview(no_audio)} but no audio file "
            f"{chapter / (no_audio[0] + LIBRISPEECH_AUDIO_SUFFIXES[0])}; restore the audio or delete the lines"
        )
    return [
        Utterance(utt_id=u, audio_path=audio[u], text=texts[u], speaker_id=u.split("-", 1)[0])
        for u in sorted(texts)
    ]


def scan_librispeech(root: str | Path, split: str) -> list[Utterance]:
    """List the utterances of one LibriSpeech-layout split, sorted by utterance id.

    Parameters
    ----------
    root : corpus directory holding the split folders (or the parent of an unpacked ``LibriSpeech/``).
    split : a split directory name, e.g. ``"dev-clean"``; see :func:`librispeech_splits`.

    Returns
    -------
    list[Utterance]
        ``text`` as written in the corpus (upper case for real LibriSpeech), ``speaker_id`` from the
        file name, ``duration=None`` (read headers lazily when needed).

    Raises
    ------
    CorpusNotFoundError : ``root`` does not exist (the message says how to create or fetch it).
    CorpusError : unknown split (lists the available ones), or a chapter whose audio files and
        transcript lines do not match (names the file).
    """
    base = _librispeech_root(root)
    split_dir = base / split
    if not split_dir.is_dir():
        available = librispeech_splits(base)
        raise CorpusError(
            f"{split_dir}: no split {split!r} in {base}; available splits: {', '.join(available) or 'none'}"
        )
    utterances = []
    for speaker in _subdirs(split_dir):
        for chapter in _subdirs(speaker):
            utterances.extend(_scan_chapter(chapter))
    if not utterances:
        raise CorpusError(f"{split_dir}: split has no utterances (expected <speaker>/<chapter>/*.flac with a .trans.txt)")
    utterances.sort(key=lambda u: u.utt_id)
    return utterances


def scan_customdir(root: str | Path) -> list[Utterance]:
    """List ``<root>/audio/<id>.<ext>`` files with their optional ``<root>/transcriptions/<id>.txt``.

    ``text`` is ``None`` for every utterance when ``transcriptions/`` does not exist; when it does,
    every audio file needs a transcript and every transcript an audio file.
    """
    root = require_root(root, "customdir")
    audio_dir, trans_dir = root / "audio", root / "transcriptions"
    if not audio_dir.is_dir():
        raise CorpusError(f"{audio_dir}: missing; a custom corpus needs an audio/ folder of <id>.wav or <id>.flac files")
    audio: dict[str, Path] = {}
    for path in sorted(audio_dir.iterdir()):
        if path.suffix.lower() not in CUSTOMDIR_AUDIO_SUFFIXES:
            continue
        if path.stem in audio:
            raise CorpusError(f"{path}: two audio files share the id {path.stem!r} ({audio[path.stem].name}); keep one")
        audio[path.stem] = path
    if not audio:
        raise CorpusError(f"{audio_dir}: no audio files with suffix {', '.join(CUSTOMDIR_AUDIO_SUFFIXES)}")
    texts: dict[str, str | None] = dict.fromkeys(audio)
    if trans_dir.is_dir():
        found = {p.stem: p for p in trans_dir.glob("*.txt")}
        missing = sorted(set(audio) - set(found))
        if missing:
            raise CorpusError(
                f"{trans_dir / (missing[0] + '.txt')}: transcript missing for audio {audio[missing[0]].name} "
                f"(ids without transcript: {_preview(missing)}); add the files or remove transcriptions/"
            )
        orphans = sorted(set(found) - set(audio))
        if orphans:
            raise CorpusError(
                f"{found[orphans[0]]}: transcript has no audio file in {audio_dir} "
                f"(ids: {_preview(orphans)}); add the audio or delete the transcript"
            )
        texts = {utt_id: found[utt_id].read_text(encoding="utf-8").strip() for utt_id in audio}
    return [Utterance(utt_id=u, audio_path=audio[u], text=texts[u], speaker_id="unknown") for u in sorted(audio)]
