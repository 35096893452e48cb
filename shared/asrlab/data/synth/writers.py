"""Writers for the on-disk corpus formats and the ``synth.json`` manifest.

Layouts::

    LibriSpeech   <root>/<split>/<speaker>/<chapter>/<speaker>-<chapter>-<utt:04d>.flac
                  <root>/<split>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt   "<utt-id> <TRANSCRIPT>"
    HVB minified  <root>/data.h5      group "waveforms", datasets "0", "1", ... float32 at 8 kHz
                  <root>/labels.npz   human_transcripts, speaker_ids, task_types, dialog_acts, sentiments
    custom dir    <root>/audio/<id>.wav   and optionally  <root>/transcriptions/<id>.txt
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

MANIFEST_NAME = "synth.json"
HVB_AUDIO_NAME = "data.h5"
HVB_LABELS_NAME = "labels.npz"
HVB_GROUP = "waveforms"
_PARTIAL_H5 = HVB_AUDIO_NAME + ".partial"
_PARTIAL_NPZ = HVB_LABELS_NAME + ".partial.npz"
HVB_OUTPUTS = (HVB_AUDIO_NAME, HVB_LABELS_NAME, _PARTIAL_H5, _PARTIAL_NPZ)  # everything HVBWriter may leave


def librispeech_utt_id(speaker: int, chapter: int, index: int) -> str:
    return f"{speaker}-{chapter}-{index:04d}"


def librispeech_audio_path(root: Path, split: str, speaker: int, chapter: int, index: int) -> Path:
    return root / split / str(speaker) / str(chapter) / f"{librispeech_utt_id(speaker, chapter, index)}.flac"


def write_trans(root: Path, split: str, speaker: int, chapter: int, transcripts: Sequence[str]) -> Path:
    """Write a chapter's ``.trans.txt``; ``transcripts[i]`` belongs to utterance ``i``."""
    for text in transcripts:
        if not text or text != text.upper() or "\n" in text:
            raise ValueError(f"LibriSpeech transcripts are non-empty single UPPER-CASE lines, got {text!r}")
    path = root / split / str(speaker) / str(chapter) / f"{speaker}-{chapter}.trans.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{librispeech_utt_id(speaker, chapter, i)} {text}\n" for i, text in enumerate(transcripts)]
    path.write_text("".join(lines))
    return path


def _unicode_array(strings: Sequence[str]) -> np.ndarray:
    """Fixed-width '<U' array: loadable by ``np.load`` without ``allow_pickle``."""
    width = max((len(s) for s in strings), default=1)
    return np.array(list(strings), dtype=f"<U{max(width, 1)}")


class HVBWriter:
    """Stream waveforms into ``data.h5`` in index order, then write ``labels.npz``.

    Files are written under temporary names and renamed on :meth:`close`, so an interrupted run
    never leaves a container that looks complete.
    """

    def __init__(self, root: Path) -> None:
        import h5py  # lazy: only HVB generation needs it

        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._h5_tmp = root / _PARTIAL_H5
        self._h5 = h5py.File(self._h5_tmp, "w")
        self._group = self._h5.create_group(HVB_GROUP, track_order=True)
        self.count = 0

    def add(self, wav: np.ndarray) -> None:
        """Append one waveform of shape (N,) as dataset ``str(count)``."""
        wav = np.asarray(wav, dtype=np.float32)
        if wav.ndim != 1:
            raise ValueError(f"HVB waveforms are mono with shape (N,), got shape {wav.shape}")
        self._group.create_dataset(str(self.count), data=wav, track_times=False)  # no timestamps: reproducible
        self.count += 1

    def close(
        self,
        transcripts: Sequence[str],
        speaker_ids: Sequence[int],
        task_types: Sequence[str],
        dialog_acts: Sequence[Sequence[str]],
        sentiments: np.ndarray,
    ) -> None:
        """Finish ``data.h5`` and write the labels; every sequence has one entry per waveform."""
        self._h5.close()
        sentiments = np.asarray(sentiments, dtype=np.float32)
        lengths = {len(transcripts), len(speaker_ids), len(task_types), len(dialog_acts), len(sentiments)}
        if lengths != {self.count} or sentiments.shape != (self.count, 3):
            raise ValueError(f"labels must have one row per waveform ({self.count}); got lengths {sorted(lengths)}, sentiments {sentiments.shape}")
        labels_tmp = self.root / _PARTIAL_NPZ
        np.savez(
            labels_tmp,
            human_transcripts=_unicode_array(transcripts),
            speaker_ids=np.asarray(speaker_ids, dtype=np.int64),
            task_types=_unicode_array(task_types),
            dialog_acts=_unicode_array([",".join(acts) for acts in dialog_acts]),
            sentiments=sentiments,
        )
        os.replace(self._h5_tmp, self.root / HVB_AUDIO_NAME)
        os.replace(labels_tmp, self.root / HVB_LABELS_NAME)


def write_transcriptions(root: Path, items: Iterable[tuple[str, str]]) -> None:
    """Custom-directory transcripts: ``<root>/transcriptions/<id>.txt`` holding one line."""
    folder = root / "transcriptions"
    folder.mkdir(parents=True, exist_ok=True)
    for utt_id, text in items:
        (folder / f"{utt_id}.txt").write_text(text + "\n")


def read_manifest(root: Path) -> dict | None:
    """The manifest in ``root``, or ``None`` when there is none."""
    path = root / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: corrupt manifest ({exc}); delete {root} and generate the corpus again") from exc


def write_manifest(root: Path, manifest: dict) -> Path:
    path = root / MANIFEST_NAME
    root.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.partial")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path
