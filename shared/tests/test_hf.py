"""asrlab.hf: the Trainer dataset adapter, start-point resolution (offline) and the pretraining features."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

pytest.importorskip("transformers")

from asrlab import course, hf  # noqa: E402
from asrlab.data import CustomDir  # noqa: E402
from asrlab.data.synth import make_custom  # noqa: E402


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("custom")
    make_custom(root, n=4, seed=0, workers=1, progress=False)
    return CustomDir(root)


@pytest.fixture()
def vocab_file(tmp_path):
    vocab = {"[PAD]": 0, "[UNK]": 1, "|": 2, **{c: i + 3 for i, c in enumerate("abcdefghijklmnopqrstuvwxyz'")}}
    path = tmp_path / "vocab.json"
    path.write_text(json.dumps(vocab))
    return path


def test_speech_dataset_items_and_prepare(corpus):
    raw = hf.SpeechDataset(corpus)
    item = raw[0]
    assert item["input_values"].dtype == np.float32 and item["input_values"].ndim == 1
    assert item["text"] == item["text"].lower() and item["text"] == raw.texts()[0]
    prepared = hf.SpeechDataset(corpus, prepare=lambda w, t: {"input_values": w[:10], "labels": [len(t)]})
    assert prepared[1]["labels"] == [len(raw[1]["text"])] and prepared[1]["input_values"].shape == (10,)
    assert prepared[1]["text"] == raw[1]["text"]


def test_speech_dataset_drops_long_utterances(corpus):
    durations = corpus.durations()
    limit = float(np.median(durations))
    kept = hf.SpeechDataset(corpus, max_seconds=limit)
    assert len(kept) == sum(d <= limit for d in durations) and max(kept.durations()) <= limit
    with pytest.raises(ValueError, match="max_seconds"):
        hf.SpeechDataset(corpus, max_seconds=0)


def test_ctc_processor_round_trip_and_normalization(vocab_file):
    processor = hf.ctc_processor(vocab_file)
    ids = processor(text="hello world").input_ids
    assert processor.tokenizer.pad_token_id == 0 and ids[5] == 2
    assert processor.batch_decode([ids], group_tokens=False) == ["hello world"]
    rng = np.random.default_rng(0)
    batch = processor(audio=[rng.normal(5, 3, 800).astype(np.float32), rng.normal(-1, 2, 500).astype(np.float32)],
                      sampling_rate=16_000, padding=True, return_tensors="np")
    short = batch["input_values"][1]
    assert abs(short[:500].mean()) < 1e-3 and abs(short[:500].std() - 1) < 1e-3 and np.all(short[500:] == 0)
    with pytest.raises(FileNotFoundError, match="vocabulary"):
        hf.ctc_processor(vocab_file.parent / "missing.json")


def test_start_points_resolve_offline(tmp_path, monkeypatch):
    monkeypatch.delenv(course.WAV2VEC2_ENV, raising=False)
    monkeypatch.setenv(course.BUDGET_ENV, "ci")
    assert course.wav2vec2_start() == hf.TINY
    monkeypatch.setenv(course.BUDGET_ENV, "full")
    assert course.wav2vec2_start() == "facebook/wav2vec2-base"
    monkeypatch.setenv(course.WAV2VEC2_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match=course.WAV2VEC2_ENV):
        course.wav2vec2_start()
    monkeypatch.setenv(course.WAV2VEC2_ENV, str(tmp_path))
    assert course.wav2vec2_start() == str(tmp_path)


def test_tiny_model_saves_and_reloads_from_a_folder_as_safetensors(tmp_path):
    torch.manual_seed(0)
    pretrained = hf.wav2vec2_for_pretraining(hf.TINY)
    pretrained.save_pretrained(tmp_path / "start")
    assert (tmp_path / "start" / "model.safetensors").is_file()
    assert not list((tmp_path / "start").glob("*.bin"))
    model = hf.wav2vec2_for_ctc(tmp_path / "start", vocab_size=31, pad_token_id=0, ctc_loss_reduction="mean")
    assert model.lm_head.out_features == 31 and model.config.ctc_loss_reduction == "mean"
    for name in ("wav2vec2.feature_extractor.conv_layers.0.conv.weight", "wav2vec2.encoder.layers.0.attention.q_proj.weight"):
        assert torch.equal(model.state_dict()[name], pretrained.state_dict()[name]), f"{name} was not loaded"
    model.save_pretrained(tmp_path / "ctc")
    again = hf.wav2vec2_for_ctc(str(tmp_path / "ctc"), vocab_size=31)
    assert torch.equal(again.lm_head.weight, model.lm_head.weight)


def test_missing_folders_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="save_pretrained"):
        hf.wav2vec2_for_ctc(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="config.json"):
        hf.wav2vec2_for_ctc(tmp_path / "empty")


def test_pretraining_features_feed_the_models_contrastive_loss():
    torch.manual_seed(1)
    model = hf.wav2vec2_for_pretraining(hf.TINY, num_negatives=7).eval()
    waves = torch.randn(2, 12_000)
    feats = hf.pretraining_features(model, waves, seed=3)
    b, t, _ = feats["context"].shape
    assert feats["quantized"].shape == feats["context"].shape and feats["mask"].shape == (b, t)
    assert feats["negatives"].shape == (b, t, 7) and feats["mask"].any()
    masked = feats["negatives"][feats["mask"]]
    rows = masked // t
    assert torch.equal(rows, torch.nonzero(feats["mask"])[:, :1].expand(-1, 7)), "distractors from the same utterance"
    again = hf.pretraining_features(model, waves, seed=3)
    assert torch.equal(again["negatives"], feats["negatives"]) and torch.equal(again["mask"], feats["mask"])
    with torch.no_grad():
        out = model(waves, mask_time_indices=feats["mask"], sampled_negative_indices=feats["negatives"])
    assert torch.isfinite(out.contrastive_loss) and out.contrastive_loss > 0
