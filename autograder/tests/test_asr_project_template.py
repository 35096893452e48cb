"""The instructor's asr_project (solutions/asr_project): dataset, augmentations, decoders, metrics, training
entry point and the load_model/transcribe contract, on small fixed inputs."""
from __future__ import annotations

import importlib
import io
import math
import os
import random
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "solutions" / "asr_project"
SR = 16000


def _forget_project_modules() -> None:
    for name in [m for m in sys.modules if m in ("src", "calc_metrics", "train", "inference")
                 or m.startswith("src.")]:
        del sys.modules[name]


@pytest.fixture
def project(monkeypatch):
    """Import the project's modules (``src.*``, ``calc_metrics``) from solutions/asr_project."""
    _forget_project_modules()
    monkeypatch.syspath_prepend(str(PROJECT))
    yield lambda name: importlib.import_module(name)
    _forget_project_modules()


def _tone(seconds: float = 1.0, sr: int = SR, freq: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * freq * t) + 0.05 * np.sin(2 * np.pi * 3 * freq * t)).astype(np.float32)


def _custom_folder(root: Path, transcripts: bool, mp3: bool = False) -> Path:
    (root / "audio").mkdir(parents=True)
    sf.write(root / "audio" / "b_flac.flac", _tone(0.5), SR)
    sf.write(root / "audio" / "a_wav.wav", _tone(0.25, sr=8000), 8000)   # resampled to 16 kHz on load
    (root / "audio" / "notes.txt").write_text("not audio")
    if mp3:
        sf.write(root / "audio" / "c_mp3.mp3", _tone(0.5), SR, format="MP3")
    if transcripts:
        (root / "transcriptions").mkdir()
        for utt_id in ["a_wav", "b_flac"] + (["c_mp3"] if mp3 else []):
            (root / "transcriptions" / f"{utt_id}.txt").write_text(f"text of {utt_id}\n")
    return root


# ----------------------------------------------------------------------------------------------- dataset
def test_custom_dir_dataset_with_transcriptions(project, tmp_path):
    ds = project("src.datasets").CustomDirDataset(_custom_folder(tmp_path / "c", transcripts=True))
    assert len(ds) == 2
    items = [ds[i] for i in range(len(ds))]
    assert [it["id"] for it in items] == ["a_wav", "b_flac"]
    assert [it["text"] for it in items] == ["text of a_wav", "text of b_flac"]
    for it, seconds in zip(items, (0.25, 0.5)):
        assert it["audio"].dtype == torch.float32 and it["audio"].dim() == 1
        assert abs(it["audio"].numel() - seconds * SR) <= 2


def test_custom_dir_dataset_without_transcriptions(project, tmp_path):
    ds = project("src.datasets").CustomDirDataset(_custom_folder(tmp_path / "c", transcripts=False))
    assert [ds[i]["text"] for i in range(len(ds))] == [None, None]


def test_custom_dir_dataset_reads_mp3(project, tmp_path):
    if "MP3" not in sf.available_formats():
        pytest.skip(f"libsndfile {sf.__libsndfile_version__} here cannot write mp3")
    ds = project("src.datasets").CustomDirDataset(_custom_folder(tmp_path / "c", transcripts=True, mp3=True))
    item = ds[2]
    assert item["id"] == "c_mp3" and item["text"] == "text of c_mp3"
    assert abs(item["audio"].numel() - 0.5 * SR) < 0.05 * SR   # mp3 pads a few frames


def test_custom_dir_dataset_errors_name_the_problem(project, tmp_path):
    CustomDirDataset = project("src.datasets").CustomDirDataset
    with pytest.raises(FileNotFoundError, match="audio"):
        CustomDirDataset(tmp_path)
    root = _custom_folder(tmp_path / "c", transcripts=True)
    (root / "transcriptions" / "a_wav.txt").unlink()
    with pytest.raises(ValueError, match="a_wav"):
        CustomDirDataset(root)


# ----------------------------------------------------------------------------------------- augmentations
def test_at_least_four_augmentations_change_a_fixed_input_and_keep_shape(project):
    AUGMENTATIONS = project("src.augment").AUGMENTATIONS
    assert len(AUGMENTATIONS) >= 4
    wav = torch.from_numpy(_tone())
    for name, fn in AUGMENTATIONS.items():
        torch.manual_seed(0)
        out = fn(wav.clone(), SR)
        assert out.shape == wav.shape and out.dtype == wav.dtype, name
        assert not torch.allclose(out, wav, atol=1e-4), f"{name} left the input unchanged"
        assert torch.isfinite(out).all(), name
        torch.manual_seed(0)
        assert torch.equal(fn(wav.clone(), SR), out), f"{name} is not reproducible after torch.manual_seed"


def test_augment_applies_none_at_p_zero_and_rejects_unknown_names(project):
    augment = project("src.augment")
    wav = torch.from_numpy(_tone())
    assert torch.equal(augment.augment(wav, SR, list(augment.AUGMENTATIONS), p=0.0), wav)
    with pytest.raises(KeyError, match="known"):
        augment.augment(wav, SR, ["echo"], p=1.0)


# --------------------------------------------------------------------------------------------- decoding
def _ctc_log_likelihood(log_probs: torch.Tensor, ids: list[int], blank: int) -> float:
    targets = torch.tensor([ids if ids else [0]], dtype=torch.long)
    loss = torch.nn.functional.ctc_loss(log_probs[:, None], targets, torch.tensor([log_probs.shape[0]]),
                                        torch.tensor([len(ids)]), blank=blank, reduction="sum")
    return -float(loss)


def test_beam_search_finds_the_more_probable_prefix_that_greedy_misses(project):
    decoding = project("src.decoding")
    # Two frames, P(blank) = 0.6 each: greedy's best path is "" (0.36), but "a" has 0.4*0.6*2 + 0.4*0.4 = 0.64.
    log_probs = torch.tensor([[0.4, 0.6], [0.4, 0.6]]).log()
    greedy = decoding.greedy_decode(log_probs, blank=1)
    beam = decoding.beam_search(log_probs, blank=1, beam_size=4)
    assert greedy == [] and beam == [0]
    assert _ctc_log_likelihood(log_probs, beam, 1) > _ctc_log_likelihood(log_probs, greedy, 1)


@pytest.mark.parametrize("seed", range(5))
def test_beam_search_equals_greedy_on_peaky_outputs_with_beam_one(project, seed):
    decoding = project("src.decoding")
    gen = torch.Generator().manual_seed(seed)
    frames, classes, blank = 40, 6, 5
    path = torch.randint(0, classes, (frames,), generator=gen)
    logits = torch.randn(frames, classes, generator=gen)
    logits[torch.arange(frames), path] += 8.0   # peaky: one class per frame dominates
    log_probs = logits.log_softmax(-1)
    greedy = decoding.greedy_decode(log_probs, blank)
    assert greedy == [int(c) for i, c in enumerate(path) if c != blank and (i == 0 or c != path[i - 1])]
    assert decoding.beam_search(log_probs, blank, beam_size=1) == greedy
    assert _ctc_log_likelihood(log_probs, decoding.beam_search(log_probs, blank, beam_size=8), blank) >= \
        _ctc_log_likelihood(log_probs, greedy, blank) - 1e-6


def test_lm_fusion_prefers_the_word_the_lm_knows(project):
    from asrlab.lm import estimate_kneser_ney
    from asrlab.text import CharTokenizer

    decoding = project("src.decoding")
    tok = CharTokenizer()
    # Acoustics slightly prefer "cap", the LM knows only "cat".
    frames = []
    for ch in "ca":
        row = torch.full((len(tok),), -8.0)
        row[tok.symbol_to_id(ch)] = 0.0
        frames.append(row)
    row = torch.full((len(tok),), -8.0)
    row[tok.symbol_to_id("p")], row[tok.symbol_to_id("t")] = -0.5, -1.0
    frames.append(row)
    log_probs = torch.stack(frames).log_softmax(-1)
    texts = ["" if i == tok.blank else s for i, s in enumerate(tok.symbols)]
    assert tok.decode(decoding.beam_search(log_probs, tok.blank, 8, texts)) == "cap"
    lm = estimate_kneser_ney(["cat", "the cat", "a cat sat"], order=2)
    fusion = decoding.LMFusion(lm, lm_weight=1.0, word_bonus=0.0)
    assert tok.decode(decoding.beam_search(log_probs, tok.blank, 8, texts, fusion)) == "cat"
    with pytest.raises(ValueError, match="token_texts"):
        decoding.beam_search(log_probs, tok.blank, 8, None, fusion)


# ---------------------------------------------------------------------------------------------- metrics
def test_calc_metrics_agrees_with_asrlab_metrics_on_random_pairs(project, tmp_path):
    from asrlab.metrics import cer, wer

    rng = random.Random(0)
    words = ["the", "cat", "sat", "on", "a", "mat", "dog's", "ran"]
    refs, hyps = {}, {}
    for i in range(40):
        ref = " ".join(rng.choice(words) for _ in range(rng.randint(1, 9)))
        hyp = " ".join(rng.choice(words) for _ in range(rng.randint(0, 9)))
        if i % 3 == 0:
            hyp = ref.replace("a", "o", 1)
        refs[f"u{i:02d}"], hyps[f"u{i:02d}"] = ref, hyp
    for folder, texts in (("ref", refs), ("hyp", hyps)):
        (tmp_path / folder).mkdir()
        for utt_id, text in texts.items():
            (tmp_path / folder / f"{utt_id}.txt").write_text(text + "\n")
    calc = project("calc_metrics")
    out = io.StringIO()
    with redirect_stdout(out):
        calc.main([str(tmp_path / "ref"), str(tmp_path / "hyp")])
    lines = dict(line.split(": ") for line in out.getvalue().splitlines())
    ids = sorted(refs)
    assert math.isclose(float(lines["WER"]), wer([refs[i] for i in ids], [hyps[i] for i in ids]), abs_tol=1e-6)
    assert math.isclose(float(lines["CER"]), cer([refs[i] for i in ids], [hyps[i] for i in ids]), abs_tol=1e-6)
    metrics = project("src.metrics")
    assert metrics.edit_distance("kitten", "sitting") == 3 and metrics.edit_distance([], ["a"]) == 1


# --------------------------------------------------------------------------------- training and the API
@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory) -> Path:
    from asrlab.data.synth import make_librispeech

    root = tmp_path_factory.mktemp("corpus") / "librispeech"
    make_librispeech(root, hours=0.03, seed=0, workers=1, progress=False)
    return root


def test_train_overfits_one_batch(tiny_corpus, tmp_path):
    cmd = [sys.executable, str(PROJECT / "train.py"), f"data.root={tiny_corpus}", "data.overfit_batch=true",
           "trainer.max_steps=12", "trainer.print_every=1", "trainer.lr=3e-3", "model.hidden_dim=32",
           "model.num_layers=1", "lm.order=2", "budget=ci", "trainer.max_eval_batches=1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    losses = [float(line.split("loss ")[1].split(",")[0]) for line in res.stdout.splitlines()
              if line.startswith("step ")]
    assert len(losses) == 12 and losses[-1] < 0.6 * losses[0], losses
    ckpt = tmp_path / "checkpoint"
    assert {"model.safetensors", "config.json", "lm.arpa"} <= {p.name for p in ckpt.iterdir()}
    assert list((tmp_path / "logs").glob("events.out.tfevents.*"))


def _save_tiny_checkpoint(project, folder: Path, lm: bool) -> None:
    """An untrained CTC model saved the way train.py saves one."""
    from asrlab.lm import estimate_kneser_ney
    from asrlab.text import CharTokenizer

    model_pkg = project("src.model")
    tok = CharTokenizer()
    model_cfg = {"kind": "ctc", "encoder": "bilstm", "n_mels": 80, "hidden_dim": 16, "num_layers": 1,
                 "dropout": 0.0, "subsampling": 2, "conv_channels": 8}
    torch.manual_seed(0)
    model = model_pkg.build_model(model_cfg, num_classes=len(tok), blank=tok.blank)
    folder.mkdir(parents=True)
    if lm:
        estimate_kneser_ney(["the cat sat", "a dog ran"], order=2).to_arpa(folder / "lm.arpa")
    model_pkg.save_checkpoint(folder, model, {"kind": "ctc", "tokenizer": "char", "lm": "lm.arpa" if lm else None,
                                              "sample_rate": SR, "model": model_cfg,
                                              "decoder": {"beam_size": 4, "lm_weight": 0.5, "word_bonus": 1.0}})


@pytest.mark.parametrize("lm", [False, True])
def test_load_model_and_transcribe_round_trip(project, tmp_path, lm):
    folder = _custom_folder(tmp_path / "c", transcripts=False)
    _save_tiny_checkpoint(project, tmp_path / "ckpt", lm)
    api = project("src.api")
    model = api.load_model(str(tmp_path / "ckpt"), device="cpu")
    assert (model.lm is not None) == lm
    paths = [str(p) for p in sorted((folder / "audio").glob("*.*")) if p.suffix != ".txt"]
    for decoder in ("greedy", "beam"):
        out = api.transcribe(model, paths, decoder=decoder)
        assert set(out) == {"a_wav", "b_flac"}
        assert all(isinstance(t, str) and t == t.lower() and t == " ".join(t.split()) for t in out.values())
    # the same weights give the same transcripts after a reload
    again = api.transcribe(api.load_model(str(tmp_path / "ckpt")), paths, decoder="greedy")
    assert again == api.transcribe(model, paths, decoder="greedy")
    with pytest.raises(ValueError, match="greedy"):
        api.transcribe(model, paths, decoder="viterbi")


def test_load_model_names_a_missing_checkpoint(project, tmp_path):
    with pytest.raises(FileNotFoundError, match="train"):
        project("src.api").load_model(str(tmp_path))


def test_inference_cli_writes_one_transcript_per_audio_file(project, tmp_path):
    folder = _custom_folder(tmp_path / "c", transcripts=True)
    _save_tiny_checkpoint(project, tmp_path / "ckpt", lm=True)
    cmd = [sys.executable, str(PROJECT / "inference.py"), f"checkpoint={tmp_path / 'ckpt'}", f"audio_dir={folder}",
           f"out_dir={tmp_path / 'hyps'}", "decoder=beam"]
    res = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert res.returncode == 0, res.stderr[-3000:]
    assert sorted(p.name for p in (tmp_path / "hyps").iterdir()) == ["a_wav.txt", "b_flac.txt"]
    res = subprocess.run([sys.executable, str(PROJECT / "calc_metrics.py"), str(folder), str(tmp_path / "hyps")],
                         cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr[-3000:]
    assert [line.split(":")[0] for line in res.stdout.splitlines()] == ["WER", "CER"]
