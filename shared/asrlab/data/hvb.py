"""HarperValleyBank (real "minified" release or the synthetic look-alike) as a torch Dataset.

On disk::

    <root>/data.h5      group "waveforms" with datasets "0", "1", ... : float (N_i,) at 8 kHz
    <root>/labels.npz   human_transcripts (U,) str, speaker_ids (U,), task_types (U,) str,
                        dialog_acts (U,) comma-separated str, sentiments (U, 3) float

Utterances with fewer than 4 words are dropped, then speakers (not utterances) are shuffled with
``np.random.RandomState(42)`` and split 80/10/10, which on the real corpus gives 10402 / 679 / 2854
utterances for train / val / test.

Each item is built by :meth:`HarperValleyBank.get_primary_task_data`, the method a notebook
overrides to compute its own features (e.g. a padded log-Mel spectrogram)::

    class MyHVB(HarperValleyBank):
        def get_primary_task_data(self, index):
            wav = self.get_waveform(index)                # (N,) float32, 8 kHz
            labels = self.get_labels(index)               # list[int] over HVBVocab
            ...
            return features, feature_length, padded_labels, label_length

The data.h5 file is opened on first access in each process, so DataLoader workers (fork) each get
their own handle.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from asrlab.audio import HVB_SAMPLE_RATE
from asrlab.data.errors import CorpusError, require_root
from asrlab.text.hvb import HVBVocab

H5_FILENAME = "data.h5"
LABELS_FILENAME = "labels.npz"
WAVEFORM_GROUP = "waveforms"
SPLITS = ("train", "val", "test")
SPLIT_SEED = 42
TRAIN_RATIO, VAL_RATIO = 0.8, 0.1  # test gets the remaining speakers
MIN_WORDS = 4
SENTIMENT_CLASSES = ("negative", "neutral", "positive")

# reference feature settings (the notebook's log-Mel exercise and its sanity checks use these)
N_MELS, N_FFT, WIN_LENGTH, HOP_LENGTH = 128, 256, 256, 128
WAV_MAX_LENGTH, TRANSCRIPT_MAX_LENGTH = 200, 200


def valid_transcript_indices(transcripts: Sequence[str], min_words: int = MIN_WORDS) -> np.ndarray:
    """Indices of transcripts with at least ``min_words`` whitespace-separated words, shape (V,)."""
    return np.array([i for i, t in enumerate(transcripts) if len(str(t).split()) >= min_words], dtype=np.int64)


def speaker_disjoint_split(
    speaker_ids: np.ndarray,
    valid_indices: np.ndarray,
    seed: int = SPLIT_SEED,
    train_ratio: float = TRAIN_RATIO,
    val_ratio: float = VAL_RATIO,
) -> dict[str, np.ndarray]:
    """Assign whole speakers to train/val/test and keep the valid utterances of each.

    The sorted unique speaker ids are shuffled in place by ``np.random.RandomState(seed)``; the
    first ``int(train_ratio * S)`` go to train, the next ``int(val_ratio * S)`` to val, the rest
    to test. Returns sorted utterance indices per split, e.g. ``{"train": (U_train,), ...}``.
    """
    speaker_ids = np.asarray(speaker_ids)
    speakers = np.unique(speaker_ids)  # == np.array(sorted(set(speaker_ids)))
    np.random.RandomState(seed).shuffle(speakers)
    num_train = int(train_ratio * len(speakers))
    num_val = int(val_ratio * len(speakers))
    groups = {
        "train": speakers[:num_train],
        "val": speakers[num_train : num_train + num_val],
        "test": speakers[num_train + num_val :],
    }
    return {
        name: np.intersect1d(np.flatnonzero(np.isin(speaker_ids, group)), valid_indices)
        for name, group in groups.items()
    }


class HarperValleyBank(Dataset):
    """One speaker-disjoint split of HarperValleyBank.

    Parameters
    ----------
    root : directory with ``data.h5`` and ``labels.npz``.
    split : ``"train"``, ``"val"`` or ``"test"``.
    transform : if given, the default item gets ``features = transform(waveform)``.
    append_eos_token : append ``<eos>`` to every label sequence (LAS needs it, CTC does not).
    n_mels, n_fft, win_length, hop_length, wav_max_length, transcript_max_length :
        feature/padding settings stored as attributes for subclasses that compute fixed-size
        features in :meth:`get_primary_task_data`; the default item does not use them.

    Attributes
    ----------
    indices : np.ndarray (U_split,) corpus indices of this split; ``dataset[i]`` serves ``indices[i]``.
    vocab : HVBVocab; ``num_class`` (48), ``eps_index``/``sos_index``/``eos_index``/``pad_index`` (0/1/2/3).
    """

    REQUIRED_LABEL_KEYS: tuple[str, ...] = ("human_transcripts", "speaker_ids")

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        transform: Callable[[torch.Tensor], Any] | None = None,
        append_eos_token: bool = False,
        n_mels: int = N_MELS,
        n_fft: int = N_FFT,
        win_length: int = WIN_LENGTH,
        hop_length: int = HOP_LENGTH,
        wav_max_length: int = WAV_MAX_LENGTH,
        transcript_max_length: int = TRANSCRIPT_MAX_LENGTH,
    ) -> None:
        super().__init__()
        self.root = require_root(root, "hvb")
        if split not in SPLITS:
            raise CorpusError(f"unknown HarperValleyBank split {split!r}; available splits: {', '.join(SPLITS)}")
        self.split = split
        self.transform = transform
        self.append_eos_token = append_eos_token
        self.sample_rate = HVB_SAMPLE_RATE
        self.n_mels, self.n_fft, self.win_length, self.hop_length = n_mels, n_fft, win_length, hop_length
        self.input_dim = n_mels
        self.wav_max_length, self.transcript_max_length = wav_max_length, transcript_max_length

        self.vocab = HVBVocab()
        self.num_class = self.num_labels = self.vocab.num_class
        self.eps_index, self.sos_index = self.vocab.eps, self.vocab.sos
        self.eos_index, self.pad_index = self.vocab.eos, self.vocab.pad_index

        self.h5_path = self.root / H5_FILENAME
        self.labels_path = self.root / LABELS_FILENAME
        self.label_data = self._load_labels()
        self.transcripts: list[str] = [str(t) for t in self.label_data["human_transcripts"].tolist()]
        num_waveforms = self._check_h5()
        if num_waveforms != len(self.transcripts):
            raise CorpusError(
                f"{self.h5_path}: {num_waveforms} waveforms but {self.labels_path} has {len(self.transcripts)} "
                "transcripts; the two files come from different versions of the corpus, re-create or re-fetch both"
            )
        valid = valid_transcript_indices(self.transcripts)
        self.indices: np.ndarray = speaker_disjoint_split(self.label_data["speaker_ids"], valid)[split]
        self._h5 = None  # opened lazily, once per process
        self._h5_pid: int | None = None

    # ----------------------------------------------------------------------------- file access
    def _load_labels(self) -> dict[str, np.ndarray]:
        if not self.labels_path.is_file():
            raise CorpusError(f"{self.labels_path}: missing; a HarperValleyBank root needs data.h5 and labels.npz")
        try:
            with np.load(self.labels_path, allow_pickle=False) as npz:
                data = {key: npz[key] for key in npz.files}
        except Exception as exc:
            raise CorpusError(f"{self.labels_path}: cannot read labels ({exc}); re-create or re-fetch the file") from exc
        missing = [k for k in self.REQUIRED_LABEL_KEYS if k not in data]
        if missing:
            raise CorpusError(
                f"{self.labels_path}: missing key(s) {', '.join(missing)} (found: {', '.join(sorted(data)) or 'none'}); "
                "re-create the corpus or re-fetch labels.npz"
            )
        num = len(data["human_transcripts"])
        for key in self.REQUIRED_LABEL_KEYS:
            if len(data[key]) != num:
                raise CorpusError(f"{self.labels_path}: {key!r} has {len(data[key])} entries but human_transcripts has {num}")
        return data

    def _check_h5(self) -> int:
        import h5py

        if not self.h5_path.is_file():
            raise CorpusError(f"{self.h5_path}: missing; a HarperValleyBank root needs data.h5 and labels.npz")
        try:
            with h5py.File(self.h5_path, "r") as h5:
                if WAVEFORM_GROUP not in h5:
                    raise CorpusError(
                        f"{self.h5_path}: no {WAVEFORM_GROUP!r} group (found: {', '.join(h5.keys()) or 'nothing'}); "
                        "the file must hold one dataset per utterance under /waveforms/<index>"
                    )
                return len(h5[WAVEFORM_GROUP])
        except OSError as exc:
            raise CorpusError(f"{self.h5_path}: not a readable HDF5 file ({exc}); re-create or re-fetch it") from exc

    @property
    def waveform_data(self):
        """The ``waveforms`` h5 group, opened on first use in this process (safe with forked workers)."""
        if self._h5 is None or self._h5_pid != os.getpid():
            import h5py

            self._h5 = h5py.File(self.h5_path, "r")
            self._h5_pid = os.getpid()
        return self._h5[WAVEFORM_GROUP]

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_h5"], state["_h5_pid"] = None, None  # h5 handles cannot be pickled (spawned workers)
        return state

    # ----------------------------------------------------------------------------- per utterance
    def get_waveform(self, index: int) -> np.ndarray:
        """Raw waveform of corpus utterance ``index``: float32 (N,) at 8 kHz."""
        try:
            wav = self.waveform_data[str(int(index))][:]
        except KeyError:
            raise CorpusError(f"{self.h5_path}: no dataset /{WAVEFORM_GROUP}/{int(index)}; the file is incomplete, re-create or re-fetch it") from None
        return np.asarray(wav, dtype=np.float32).reshape(-1)

    def get_transcript(self, index: int) -> str:
        return self.transcripts[int(index)]

    def get_labels(self, index: int) -> list[int]:
        """Label ids of corpus utterance ``index`` (``<eos>`` appended when ``append_eos_token``)."""
        return self.vocab.encode(self.transcripts[int(index)], append_eos=self.append_eos_token)

    def pad_labels(self, labels: Sequence[int], max_length: int | None = None) -> tuple[list[int], int]:
        """Crop/pad to ``max_length`` (default ``transcript_max_length``) with ``<pad>``; returns (padded, length)."""
        return self.vocab.pad(labels, self.transcript_max_length if max_length is None else max_length)

    def indices_to_chars(self, indices: Sequence[int]) -> list[str]:
        return self.vocab.indices_to_symbols(indices)

    def get_primary_task_data(self, index: int) -> Any:
        """The ASR item for corpus utterance ``index``; override to return your own features.

        Returns
        -------
        dict with ``waveform`` float32 (N,), ``tokens`` int64 (L,), ``text``, ``utt_id``,
        ``speaker`` and, with a transform, ``features``. Batch with
        ``PadCollate(pad_values={"tokens": dataset.pad_index})``.
        """
        waveform = torch.from_numpy(self.get_waveform(index))  # (N,)
        item: dict[str, Any] = {
            "waveform": waveform,
            "tokens": torch.tensor(self.get_labels(index), dtype=torch.long),  # (L,)
            "text": self.get_transcript(index),
            "utt_id": str(int(index)),
            "speaker": str(self.label_data["speaker_ids"][int(index)]),
        }
        if self.transform is not None:
            item["features"] = self.transform(waveform)
        return item

    def durations(self) -> list[float]:
        """Seconds per item of this split (from the h5 shapes, no audio read) — lengths for bucketing."""
        group = self.waveform_data
        return [group[str(int(i))].shape[0] / self.sample_rate for i in self.indices]

    def texts(self) -> list[str]:
        return [self.transcripts[int(i)] for i in self.indices]

    def __getitem__(self, i: int) -> Any:
        return self.get_primary_task_data(int(self.indices[i]))

    def __len__(self) -> int:
        return len(self.indices)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(root={str(self.root)!r}, split={self.split!r}, utterances={len(self)})"


class HarperValleyBankMTL(HarperValleyBank):
    """HarperValleyBank plus the auxiliary labels: task type, dialog acts and caller sentiment.

    Label vocabularies are built over the whole corpus (all splits), so class ids agree between
    splits: ``task_type_vocab`` (sorted task names), ``dialog_acts_vocab`` (sorted act names).

    Items are the primary item plus ``task_type`` int64 (), ``dialog_acts`` float32 (D,) multi-hot
    and ``sentiment`` float32 (3,) probabilities (negative, neutral, positive). When a subclass's
    :meth:`get_primary_task_data` returns a tuple, the three labels are appended to the tuple.
    """

    REQUIRED_LABEL_KEYS = HarperValleyBank.REQUIRED_LABEL_KEYS + ("task_types", "dialog_acts", "sentiments")

    def __init__(self, root: str | Path, split: str = "train", **kwargs: Any) -> None:
        super().__init__(root, split, **kwargs)
        sentiments = np.asarray(self.label_data["sentiments"], dtype=np.float32)
        if sentiments.ndim != 2 or sentiments.shape[1] != len(SENTIMENT_CLASSES):
            raise CorpusError(f"{self.labels_path}: 'sentiments' must have shape (N, 3), got {sentiments.shape}")
        task_types = [str(t) for t in self.label_data["task_types"].tolist()]
        acts = [str(a).split(",") for a in self.label_data["dialog_acts"].tolist()]
        self.task_type_vocab: list[str] = sorted(set(task_types))
        self.dialog_acts_vocab: list[str] = sorted({a for group in acts for a in group})
        act_index = {a: j for j, a in enumerate(self.dialog_acts_vocab)}
        self.task_type_labels = np.array([self.task_type_vocab.index(t) for t in task_types], dtype=np.int64)  # (U,)
        self.dialog_acts_labels = np.zeros((len(acts), len(self.dialog_acts_vocab)), dtype=np.float32)  # (U, D)
        for row, group in enumerate(acts):
            self.dialog_acts_labels[row, [act_index[a] for a in group]] = 1.0
        self.sentiment_labels = sentiments  # (U, 3)
        self.task_type_num_class = len(self.task_type_vocab)
        self.dialog_acts_num_class = len(self.dialog_acts_vocab)
        self.sentiment_num_class = len(SENTIMENT_CLASSES)

    def get_auxiliary_labels(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(task_type int64 (), dialog_acts float32 (D,), sentiment float32 (3,)) for corpus ``index``."""
        index = int(index)
        return (
            torch.tensor(self.task_type_labels[index], dtype=torch.long),
            torch.from_numpy(self.dialog_acts_labels[index].copy()),
            torch.from_numpy(self.sentiment_labels[index].copy()),
        )

    def __getitem__(self, i: int) -> Any:
        index = int(self.indices[i])
        primary = self.get_primary_task_data(index)
        task_type, dialog_acts, sentiment = self.get_auxiliary_labels(index)
        if isinstance(primary, dict):
            return {**primary, "task_type": task_type, "dialog_acts": dialog_acts, "sentiment": sentiment}
        if not isinstance(primary, tuple):
            primary = (primary,)
        return primary + (task_type, dialog_acts, sentiment)


# ----------------------------------------------------------------------------- fixed-length items
FIXED_ITEM_FIELDS = ("features", "feature_lengths", "tokens", "token_lengths")
AUXILIARY_FIELDS = ("task_type", "dialog_acts", "sentiment")


def collate_fixed_length(items: Sequence[tuple]) -> dict[str, torch.Tensor]:
    """Batch fixed-length tuple items and cut the padding no item of the batch needs.

    Parameters
    ----------
    items : tuples ``(features (T_max, F), feature_length, labels (L_max,), label_length)``, as a
        notebook's ``get_primary_task_data`` returns them, optionally followed by the three
        auxiliary labels of :class:`HarperValleyBankMTL` ``(task_type (), dialog_acts (D,), sentiment (3,))``.

    Returns
    -------
    dict with ``features`` (B, T, F) and ``tokens`` (B, L) cut to the longest item of the batch,
    ``feature_lengths`` / ``token_lengths`` (B,) int64 and, for 7-tuples, ``task_type`` (B,),
    ``dialog_acts`` (B, D), ``sentiment`` (B, 3): what :class:`asrlab.train.Trainer` consumes.
    """
    if not items or len(items[0]) not in (4, 7):
        raise ValueError("items must be (features, feature_length, labels, label_length[, task_type, dialog_acts, "
                         f"sentiment]) tuples; got {len(items[0]) if items else 0} fields")
    fields = list(zip(*items))
    feature_lengths = torch.as_tensor([int(n) for n in fields[1]], dtype=torch.long)  # (B,)
    token_lengths = torch.as_tensor([int(n) for n in fields[3]], dtype=torch.long)  # (B,)
    longest, longest_labels = int(feature_lengths.max()), int(token_lengths.max())
    batch = {
        "features": torch.stack([torch.as_tensor(f)[:longest] for f in fields[0]]).float(),  # (B, T, F)
        "feature_lengths": feature_lengths,
        "tokens": torch.stack([torch.as_tensor(t)[:longest_labels] for t in fields[2]]).long(),  # (B, L)
        "token_lengths": token_lengths,
    }
    for name, values in zip(AUXILIARY_FIELDS, fields[4:]):
        batch[name] = torch.stack([torch.as_tensor(v) for v in values])
    return batch


def fixed_length_loader(items: Sequence[tuple], batch_size: int, shuffle: bool = True, seed: int = 0):
    """A DataLoader over precomputed fixed-length items, batched by similar ``feature_length``.

    Batches come from :class:`asrlab.data.BucketBatchSampler` (reshuffled per epoch by the trainer)
    and :func:`collate_fixed_length`, so a batch is only as long as its longest utterance.
    """
    from torch.utils.data import DataLoader

    from asrlab.data.batching import BucketBatchSampler

    sampler = BucketBatchSampler([int(item[1]) for item in items], batch_size=batch_size, shuffle=shuffle, seed=seed)
    return DataLoader(list(items), batch_sampler=sampler, collate_fn=collate_fixed_length)
