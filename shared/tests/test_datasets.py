"""Tests for the corpus readers: LibriSpeech layout, custom directories and HarperValleyBank."""
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from asrlab import audio
from asrlab.data import (
    CorpusError,
    CorpusNotFoundError,
    CustomDir,
    HarperValleyBank,
    HarperValleyBankMTL,
    LibriSpeech,
    PadCollate,
    scan_librispeech,
)
from asrlab.data.hvb import speaker_disjoint_split, valid_transcript_indices
from asrlab.data.utterance import Utterance
from asrlab.text import CharTokenizer, HVBVocab


def _tone(seconds: float, sr: int, freq: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def make_librispeech(root: Path, split: str, chapters: dict, sr: int = audio.SAMPLE_RATE, suffix: str = ".flac") -> Path:
    """chapters: {(speaker, chapter): [(utt, TEXT, seconds), ...]} -> the LibriSpeech layout under root."""
    for (spk, ch), utts in chapters.items():
        chapter_dir = root / split / spk / ch
        chapter_dir.mkdir(parents=True, exist_ok=True)
        lines = []
        for utt, text, seconds in utts:
            utt_id = f"{spk}-{ch}-{utt}"
            audio.save(chapter_dir / f"{utt_id}{suffix}", _tone(seconds, sr), sr)
            lines.append(f"{utt_id} {text}")
        (chapter_dir / f"{spk}-{ch}.trans.txt").write_text("\n".join(lines) + "\n")
    return root


CHAPTERS = {
    ("19", "198"): [("0000", "HE HOPED THERE WOULD BE STEW", 0.30), ("0001", "FOR DINNER", 0.10)],
    ("26", "495"): [("0000", "TURNIPS AND CARROTS", 0.20)],
}


@pytest.fixture
def libri(tmp_path):
    make_librispeech(tmp_path, "dev-clean", CHAPTERS)
    make_librispeech(tmp_path, "test-other", {("7", "11"): [("0003", "HELLO", 0.05)]}, suffix=".wav")
    return tmp_path


# ----------------------------------------------------------------------------- LibriSpeech
def test_scan_librispeech_returns_sorted_utterances(libri):
    utts = scan_librispeech(libri, "dev-clean")
    assert [u.utt_id for u in utts] == ["19-198-0000", "19-198-0001", "26-495-0000"]
    first = utts[0]
    assert isinstance(first, Utterance)
    assert first.text == "HE HOPED THERE WOULD BE STEW" and first.speaker_id == "19"
    assert first.audio_path == libri / "dev-clean/19/198/19-198-0000.flac"
    assert [u.utt_id for u in scan_librispeech(libri, "test-other")] == ["7-11-0003"]  # .wav accepted


def test_librispeech_items_with_tokenizer_and_transform(libri):
    tok = CharTokenizer()
    ds = LibriSpeech(libri, "dev-clean", tokenizer=tok, transform=lambda w: w.reshape(-1, 160))
    assert len(ds) == 3
    item = ds[0]
    assert item["waveform"].dtype == torch.float32 and item["waveform"].shape == (4800,)
    assert item["text"] == "HE HOPED THERE WOULD BE STEW" and item["utt_id"] == "19-198-0000" and item["speaker"] == "19"
    assert tok.decode(item["tokens"]) == "he hoped there would be stew" and item["tokens"].dtype == torch.long
    assert item["features"].shape == (30, 160)
    assert ds.durations() == pytest.approx([0.30, 0.10, 0.20], abs=1e-3)
    assert LibriSpeech(libri, "dev-clean", sample_rate=8000)[0]["waveform"].shape == (2400,)


def test_librispeech_discovers_splits_and_nested_archive_root(tmp_path, libri):
    assert LibriSpeech.splits(libri) == ["dev-clean", "test-other"]
    # a fetched corpus unpacks to <dir>/LibriSpeech/<split>; the parent works as root too
    make_librispeech(tmp_path / "cache" / "LibriSpeech", "train-clean-100", CHAPTERS)
    assert LibriSpeech.splits(tmp_path / "cache") == ["train-clean-100"]
    assert len(LibriSpeech(tmp_path / "cache", "train-clean-100")) == 3


def test_librispeech_unknown_split_lists_available(libri):
    with pytest.raises(CorpusError, match=r"no split 'train-clean'.*available splits: dev-clean, test-other"):
        LibriSpeech(libri, "train-clean")


def test_librispeech_missing_root_says_how_to_get_it(tmp_path):
    with pytest.raises(CorpusNotFoundError, match=r"does not exist.*asrlab data synth librispeech.*asrlab data fetch"):
        scan_librispeech(tmp_path / "nope", "dev-clean")


def test_librispeech_audio_without_transcript_line(libri):
    trans = libri / "dev-clean/19/198/19-198.trans.txt"
    trans.write_text("19-198-0000 HE HOPED THERE WOULD BE STEW\n")
    with pytest.raises(CorpusError, match=r"19-198-0001\.flac: no transcript line for 19-198-0001 in .*19-198\.trans\.txt"):
        scan_librispeech(libri, "dev-clean")


def test_librispeech_transcript_line_without_audio(libri):
    (libri / "dev-clean/26/495/26-495-0000.flac").unlink()
    (libri / "dev-clean/26/495/26-495-0001.flac").write_bytes(b"")  # keep the chapter non-empty
    trans = libri / "dev-clean/26/495/26-495.trans.txt"
    trans.write_text("26-495-0000 TURNIPS\n26-495-0001 CARROTS\n")
    with pytest.raises(CorpusError, match=r"26-495\.trans\.txt: lines for 26-495-0000 but no audio file"):
        scan_librispeech(libri, "dev-clean")


def test_librispeech_missing_trans_file_and_duplicate_lines(libri):
    trans = libri / "dev-clean/26/495/26-495.trans.txt"
    trans.write_text("26-495-0000 A\n26-495-0000 B\n")
    with pytest.raises(CorpusError, match=r"26-495\.trans\.txt:2: utterance '26-495-0000' appears twice"):
        scan_librispeech(libri, "dev-clean")
    trans.unlink()
    with pytest.raises(CorpusError, match=r"26-495\.trans\.txt: transcript file is missing"):
        scan_librispeech(libri, "dev-clean")


def test_corrupt_audio_names_the_file(libri):
    bad = libri / "dev-clean/19/198/19-198-0001.flac"
    bad.write_bytes(b"not audio at all")
    ds = LibriSpeech(libri, "dev-clean")
    with pytest.raises(audio.AudioError, match="19-198-0001.flac"):
        ds[1]


# ----------------------------------------------------------------------------- CustomDir
def test_customdir_with_and_without_transcriptions(tmp_path):
    audio.save(tmp_path / "audio" / "b.wav", _tone(0.1, 16000), 16000)
    audio.save(tmp_path / "audio" / "a.flac", _tone(0.2, 16000), 16000)
    (tmp_path / "audio" / "notes.md").write_text("ignored")
    ds = CustomDir(tmp_path)
    assert [ds[i]["utt_id"] for i in range(len(ds))] == ["a", "b"]
    assert ds[0]["text"] is None and "tokens" not in ds[0] and not ds.has_transcripts
    (tmp_path / "transcriptions").mkdir()
    (tmp_path / "transcriptions" / "a.txt").write_text("Hello there\n")
    with pytest.raises(CorpusError, match=r"b\.txt: transcript missing for audio b\.wav"):
        CustomDir(tmp_path)
    (tmp_path / "transcriptions" / "b.txt").write_text("General Kenobi")
    (tmp_path / "transcriptions" / "c.txt").write_text("orphan")
    with pytest.raises(CorpusError, match=r"c\.txt: transcript has no audio file"):
        CustomDir(tmp_path)
    (tmp_path / "transcriptions" / "c.txt").unlink()
    ds = CustomDir(tmp_path, tokenizer=CharTokenizer())
    assert ds[0]["text"] == "Hello there" and CharTokenizer().decode(ds[1]["tokens"]) == "general kenobi"


def test_customdir_errors(tmp_path):
    with pytest.raises(CorpusNotFoundError, match="audio/ folder"):
        CustomDir(tmp_path / "missing")
    with pytest.raises(CorpusError, match=r"audio: missing"):
        CustomDir(tmp_path)
    audio.save(tmp_path / "audio" / "x.wav", _tone(0.1, 16000), 16000)
    audio.save(tmp_path / "audio" / "x.flac", _tone(0.1, 16000), 16000)
    with pytest.raises(CorpusError, match="two audio files share the id 'x'"):
        CustomDir(tmp_path)


# ----------------------------------------------------------------------------- HarperValleyBank
WORDS = ["yes", "i", "would", "like", "to", "pay", "my", "bill", "[noise]", "please", "okay", "thanks"]
TASKS = ["transfer money", "check balance", "order checks"]
ACTS = ["yes_response", "greeting", "problem_description", "closing"]


def make_hvb(root: Path, num_utts: int = 300, num_speakers: int = 59, seed: int = 0) -> dict:
    """A small HarperValleyBank-layout corpus; returns the arrays written to labels.npz."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    transcripts = [" ".join(rng.choice(WORDS, size=rng.integers(1, 8))) for _ in range(num_utts)]
    labels = {
        "human_transcripts": np.array(transcripts),
        "speaker_ids": rng.integers(1000, 1000 + num_speakers, size=num_utts),
        "task_types": np.array([TASKS[i] for i in rng.integers(0, len(TASKS), size=num_utts)]),
        "dialog_acts": np.array([",".join(sorted(set(rng.choice(ACTS, size=rng.integers(1, 3))))) for _ in range(num_utts)]),
        "sentiments": rng.dirichlet(np.ones(3), size=num_utts),
    }
    np.savez(root / "labels.npz", **labels)
    with h5py.File(root / "data.h5", "w") as h5:
        group = h5.create_group("waveforms")
        for i in range(num_utts):
            group.create_dataset(str(i), data=_tone(0.05 + 0.01 * (i % 7), audio.HVB_SAMPLE_RATE).astype(np.float64))
    return labels


def reference_style_split(speaker_ids, valid):
    """An independent, loop-based statement of the published splitting procedure."""
    rs = np.random.RandomState(42)
    unique = np.array(sorted(list(set(speaker_ids))))
    rs.shuffle(unique)
    n_train, n_val = int(0.8 * len(unique)), int(0.1 * len(unique))
    owner = {}
    for k, spk in enumerate(unique):
        owner[spk] = "train" if k < n_train else ("val" if k < n_train + n_val else "test")
    out = {"train": [], "val": [], "test": []}
    for i, spk in enumerate(speaker_ids):
        out[owner[spk]].append(i)
    return {k: np.intersect1d(np.array(v), valid) for k, v in out.items()}


@pytest.mark.parametrize("ids", [np.arange(59) % 59, np.array([f"spk{k:02d}" for k in range(23)])])
def test_speaker_split_matches_published_procedure(ids):
    rng = np.random.default_rng(3)
    speaker_ids = rng.choice(ids, size=500)
    valid = np.sort(rng.choice(500, size=350, replace=False))
    ours = speaker_disjoint_split(speaker_ids, valid)
    expected = reference_style_split(speaker_ids, valid)
    for name in ("train", "val", "test"):
        np.testing.assert_array_equal(ours[name], expected[name])
    spk = {name: set(speaker_ids[idx]) for name, idx in ours.items()}
    assert not (spk["train"] & spk["val"]) and not (spk["train"] & spk["test"]) and not (spk["val"] & spk["test"])


def test_valid_transcript_indices_drops_fewer_than_four_words():
    assert valid_transcript_indices(["a b c", "a b c d", " a  b c d e ", "", "[noise] a b c"]).tolist() == [1, 2, 4]


@pytest.fixture
def hvb_root(tmp_path):
    labels = make_hvb(tmp_path / "hvb")
    return tmp_path / "hvb", labels


def test_hvb_splits_cover_valid_utterances_by_speaker(hvb_root):
    root, labels = hvb_root
    splits = {s: HarperValleyBank(root, s) for s in ("train", "val", "test")}
    valid = valid_transcript_indices(labels["human_transcripts"])
    together = np.concatenate([splits[s].indices for s in splits])
    assert sorted(together.tolist()) == valid.tolist()
    # 59 speakers -> 47 / 5 / 7
    assert len(set(labels["speaker_ids"][splits["train"].indices])) <= 47
    assert len(set(labels["speaker_ids"][splits["test"].indices])) <= 7
    expected = reference_style_split(labels["speaker_ids"], valid)
    np.testing.assert_array_equal(splits["val"].indices, expected["val"])


def test_hvb_item_contents(hvb_root):
    root, labels = hvb_root
    ds = HarperValleyBank(root, "train", transform=lambda w: w[None, :10])
    vocab = HVBVocab()
    assert ds.num_class == 48 and (ds.eps_index, ds.sos_index, ds.eos_index, ds.pad_index) == (0, 1, 2, 3)
    index = int(ds.indices[5])
    item = ds[5]
    transcript = str(labels["human_transcripts"][index])
    assert item["text"] == transcript and item["utt_id"] == str(index)
    assert item["speaker"] == str(labels["speaker_ids"][index])
    assert item["waveform"].dtype == torch.float32 and item["waveform"].shape == (int((0.05 + 0.01 * (index % 7)) * 8000),)
    assert item["tokens"].tolist() == vocab.encode(transcript)
    assert item["features"].shape == (1, 10)
    eos = HarperValleyBank(root, "train", append_eos_token=True)
    assert eos[5]["tokens"].tolist() == vocab.encode(transcript) + [2]
    assert ds.pad_labels([20, 21], 4) == ([20, 21, 3, 3], 2)
    assert ds.durations()[5] == pytest.approx(item["waveform"].shape[0] / 8000)


def test_hvb_subclass_hook_for_fixed_size_features(hvb_root):
    root, _ = hvb_root

    class Fixed(HarperValleyBankMTL):
        def get_primary_task_data(self, index):
            wav = torch.from_numpy(self.get_waveform(index))[: self.wav_max_length]
            feats = torch.zeros(self.wav_max_length)
            feats[: len(wav)] = wav
            labels, length = self.pad_labels(self.get_labels(index))
            return feats, len(wav), torch.tensor(labels), length

    ds = Fixed(root, "val", wav_max_length=300, transcript_max_length=40)
    feats, n, labels, length = ds[0][:4]
    task_type, acts, sentiment = ds[0][4:]
    assert feats.shape == (300,) and labels.shape == (40,) and labels[length:].eq(3).all()
    assert task_type.dtype == torch.long and acts.dtype == torch.float32 and sentiment.shape == (3,)
    batch = next(iter(DataLoader(ds, batch_size=4)))
    assert batch[0].shape == (4, 300) and batch[2].shape == (4, 40)


def test_hvb_mtl_labels(hvb_root):
    root, labels = hvb_root
    ds = HarperValleyBankMTL(root, "train")
    assert ds.task_type_vocab == sorted(TASKS) and ds.dialog_acts_vocab == sorted(ACTS)
    assert ds.sentiment_num_class == 3 and ds.dialog_acts_num_class == len(ACTS)
    index = int(ds.indices[2])
    item = ds[2]
    assert ds.task_type_vocab[int(item["task_type"])] == labels["task_types"][index]
    on = {ds.dialog_acts_vocab[j] for j in torch.nonzero(item["dialog_acts"]).flatten().tolist()}
    assert on == set(str(labels["dialog_acts"][index]).split(","))
    np.testing.assert_allclose(item["sentiment"].numpy(), labels["sentiments"][index], rtol=1e-6)
    assert "waveform" in item and "tokens" in item


def test_hvb_dataloader_workers_open_their_own_file(hvb_root):
    root, _ = hvb_root
    ds = HarperValleyBank(root, "train")
    ds.get_waveform(0)  # open the file in the parent first: workers must not reuse this handle
    loader = DataLoader(ds, batch_size=8, num_workers=2, collate_fn=PadCollate({"tokens": ds.pad_index}),
                        multiprocessing_context="fork")
    seen = sum(batch["waveform"].shape[0] for batch in loader)
    assert seen == len(ds)
    batch = next(iter(DataLoader(ds, batch_size=4, collate_fn=PadCollate({"tokens": ds.pad_index}))))
    lengths = batch["token_lengths"]
    assert batch["tokens"][0, lengths[0]:].eq(3).all()


def test_hvb_errors(tmp_path, hvb_root):
    root, labels = hvb_root
    with pytest.raises(CorpusError, match=r"unknown HarperValleyBank split 'dev'; available splits: train, val, test"):
        HarperValleyBank(root, "dev")
    with pytest.raises(CorpusNotFoundError, match="asrlab data synth hvb"):
        HarperValleyBank(tmp_path / "absent")
    # labels.npz without speaker_ids
    broken = tmp_path / "broken"
    broken.mkdir()
    np.savez(broken / "labels.npz", human_transcripts=labels["human_transcripts"])
    (broken / "data.h5").write_bytes((root / "data.h5").read_bytes())
    with pytest.raises(CorpusError, match=r"labels\.npz: missing key\(s\) speaker_ids"):
        HarperValleyBank(broken)
    # the MTL variant needs its extra keys
    np.savez(broken / "labels.npz", human_transcripts=labels["human_transcripts"], speaker_ids=labels["speaker_ids"])
    HarperValleyBank(broken)
    with pytest.raises(CorpusError, match=r"missing key\(s\) task_types, dialog_acts, sentiments"):
        HarperValleyBankMTL(broken)
    # data.h5 and labels.npz from different corpus versions
    np.savez(broken / "labels.npz", human_transcripts=labels["human_transcripts"][:10], speaker_ids=labels["speaker_ids"][:10])
    with pytest.raises(CorpusError, match=r"data\.h5: 300 waveforms but .*labels\.npz has 10 transcripts"):
        HarperValleyBank(broken)
    # data.h5 without the waveforms group
    with h5py.File(broken / "data.h5", "w") as h5:
        h5.create_group("audio")
    with pytest.raises(CorpusError, match=r"data\.h5: no 'waveforms' group \(found: audio\)"):
        HarperValleyBank(broken)
    (broken / "data.h5").write_bytes(b"garbage")
    with pytest.raises(CorpusError, match=r"data\.h5: not a readable HDF5 file"):
        HarperValleyBank(broken)


def test_importing_asrlab_data_stays_light():
    code = (
        "import sys, asrlab.data as d; "
        "assert d.Utterance and d.CorpusError; "
        "print(sorted(m for m in ('torch', 'h5py', 'asrlab.data.synth', 'sentencepiece') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_fixed_length_loader_cuts_padding_and_keeps_auxiliary_labels():
    """The notebook's training batches: fixed-length items in, batches cut to their longest item out."""
    import torch

    from asrlab.data.hvb import collate_fixed_length, fixed_length_loader

    def item(frames, labels, task):
        feats = torch.zeros(50, 4)
        feats[:frames] = 1.0
        tokens = torch.full((30,), 3)
        tokens[:labels] = 7
        return (feats, frames, tokens, labels, torch.tensor(task), torch.tensor([1.0, 0.0]), torch.tensor([0.2, 0.8, 0.0]))

    items = [item(10, 4, 0), item(25, 9, 1), item(12, 5, 2), item(40, 20, 1)]
    batch = collate_fixed_length(items[:3])
    assert batch["features"].shape == (3, 25, 4) and batch["tokens"].shape == (3, 9)
    assert batch["feature_lengths"].tolist() == [10, 25, 12] and batch["token_lengths"].tolist() == [4, 9, 5]
    assert batch["task_type"].tolist() == [0, 1, 2] and batch["sentiment"].shape == (3, 3)
    assert set(collate_fixed_length([it[:4] for it in items])) == {"features", "feature_lengths", "tokens", "token_lengths"}
    loader = fixed_length_loader(items, batch_size=2, shuffle=False)
    seen = sorted(n for b in loader for n in b["feature_lengths"].tolist())
    assert seen == [10, 12, 25, 40]
    assert [b["features"].shape[1] for b in loader] == [12, 40]     # similar lengths batched together
