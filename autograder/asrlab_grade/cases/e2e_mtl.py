"""Hidden inputs and references of the ``e2e_mtl`` assignment's tasks (see ``tasks/e2e_mtl.py``).

Signals (tones, chirps, coloured noise, digital silence) for the features, the dataset and transcription;
CTC batches with other blanks and an infeasible utterance; seeded model weights; transcripts with errors;
padded hidden states; head weights with hard, multi-label and soft targets; loss weights.
"""
from __future__ import annotations

import functools
from typing import List

import numpy as np
from asrlab.features import HVB_FEATURES
from asrlab.text import HVBVocab

from asrlab_grade.cases.common import log_softmax, pad_after
from asrlab_grade.task import Case

SAMPLE_RATE = HVB_FEATURES["sample_rate"]
NUM_CLASSES = len(HVBVocab())
# The course settings in the names of log_mel_features' arguments.
FEATURE_SETTINGS = {"sr": SAMPLE_RATE, **{k: HVB_FEATURES[k] for k in ("n_mels", "n_fft", "win_length", "hop_length")}}


# ----------------------------------------------------------------------------- signals
def _signal(rng: np.random.Generator, kind: str, seconds: float) -> np.ndarray:
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    if kind == "tone":
        wav = 0.4 * np.sin(2 * np.pi * rng.uniform(200, 3000) * t) + 0.01 * rng.normal(size=n)
    elif kind == "chirp":
        f0, f1 = rng.uniform(100, 500), rng.uniform(2000, 3800)
        wav = 0.3 * np.sin(2 * np.pi * (f0 + (f1 - f0) * t / (2 * max(seconds, 1e-3))) * t)
    elif kind == "silence_gap":  # digital silence in the middle: the 80 dB floor of power_to_db decides there
        wav = 0.3 * rng.normal(size=n)
        wav[n // 3: 2 * n // 3] = 0.0
    else:  # coloured noise with a rising envelope
        wav = np.cumsum(rng.normal(size=n)) * 0.01
        wav = (wav - wav.mean()) * np.linspace(0.05, 1.0, n) + 0.05 * rng.normal(size=n)
    return wav.astype(np.float32)


def course_features(wav: np.ndarray, sr: int, n_mels: int, n_fft: int, win_length: int,
                    hop_length: int) -> np.ndarray:
    """The course features: dB log-Mel, then per-utterance mean/variance normalisation; (T, n_mels) float32."""
    import torch
    from asrlab.features import LogMel, utterance_cmvn

    log_mel = LogMel(sample_rate=sr, n_fft=n_fft, win_length=win_length, hop_length=hop_length, n_mels=n_mels,
                     log_scale="db")
    feats, length = log_mel(torch.from_numpy(np.asarray(wav, dtype=np.float32)))  # (T, n_mels)
    return utterance_cmvn(feats[None].double(), length[None])[0].float().numpy()


# ----------------------------------------------------------------------------- features
def feature_cases(rng: np.random.Generator) -> List[Case]:
    cases = [Case((_signal(np.random.default_rng(0), "tone", 0.5),), dict(FEATURE_SETTINGS),
                  name="0.5 s tone, course settings", hidden=False)]
    specs = [("noise", 2.3, FEATURE_SETTINGS), ("silence_gap", 1.7, FEATURE_SETTINGS), ("chirp", 3.1, FEATURE_SETTINGS),
             ("noise", 1.1, {"sr": 8000, "n_mels": 40, "n_fft": 512, "win_length": 400, "hop_length": 160}),
             ("tone", 0.9, {"sr": 16000, "n_mels": 80, "n_fft": 400, "win_length": 400, "hop_length": 160}),
             ("silence_gap", 0.8, {"sr": 8000, "n_mels": 64, "n_fft": 256, "win_length": 200, "hop_length": 80})]
    for kind, seconds, settings in specs:
        cases.append(Case((_signal(rng, kind, seconds),), dict(settings)))
    return cases


# ----------------------------------------------------------------------------- one example
TRANSCRIPTS = [
    "hi i would like to check my balance", "can you reset my password please", "[noise] yes that's right thank you",
    "i lost my debit card at the store on monday", "what are the hours of the main street branch",
    "okay let me transfer five hundred dollars to savings", "uh i need to order new checks for my account",
]


def dataset_cases(rng: np.random.Generator) -> List[Case]:
    cases = []
    # (seconds of each utterance, settings); 0.75 s = 47 frames, 4.0 s = 251 frames
    specs = [([1.2, 0.75, 2.0], {}),
             ([4.0, 1.0, 2.6], {"wav_max_length": 200}),                              # the first one is cut
             ([1.5, 3.0, 0.9], {"wav_max_length": 120, "transcript_max_length": 20}),  # long transcripts are cut too
             ([2.2, 1.3, 1.8], {"n_mels": 64, "hop_length": 100, "n_fft": 200, "win_length": 200, "wav_max_length": 300})]
    for k, (seconds, settings) in enumerate(specs):
        kinds = rng.choice(["noise", "tone", "chirp", "silence_gap"], size=len(seconds))
        waves = [_signal(rng, str(kind), s) for kind, s in zip(kinds, seconds)]
        texts = [TRANSCRIPTS[int(i)] for i in rng.choice(len(TRANSCRIPTS), size=len(seconds), replace=False)]
        cases.append(Case((waves, texts, settings), name="three utterances, default settings" if k == 0 else "",
                          hidden=k > 0))
    return cases


def dataset_reference(waveforms: List[np.ndarray], transcripts: List[str], settings: dict) -> dict:
    from asrlab.text import HVBVocab

    defaults = {"n_mels": 128, "n_fft": 256, "win_length": 256, "hop_length": 128, "wav_max_length": 200,
                "transcript_max_length": 200}
    s = {**defaults, **settings}
    vocab = HVBVocab()
    out = {"features": [], "input_lengths": [], "labels": [], "label_lengths": []}
    for wav, text in zip(waveforms, transcripts):
        feats = course_features(wav, SAMPLE_RATE, s["n_mels"], s["n_fft"], s["win_length"], s["hop_length"])
        kept = min(len(feats), s["wav_max_length"])
        padded = np.zeros((s["wav_max_length"], s["n_mels"]), dtype=np.float32)
        padded[:kept] = feats[:kept]
        labels, length = vocab.pad(vocab.encode(text), s["transcript_max_length"])
        out["features"].append(padded)
        out["input_lengths"].append(kept)
        out["labels"].append(np.array(labels, dtype=np.int64))
        out["label_lengths"].append(length)
    return {"features": np.stack(out["features"]), "input_lengths": np.array(out["input_lengths"], dtype=np.int64),
            "labels": np.stack(out["labels"]), "label_lengths": np.array(out["label_lengths"], dtype=np.int64)}


# ----------------------------------------------------------------------------- CTC loss
def ctc_loss_cases(rng: np.random.Generator) -> List[Case]:
    cases = []
    # (B, T, C, blank, max target length, an infeasible utterance?)
    specs = [(3, 20, 6, 0, 4, False), (4, 30, 48, 0, 12, False), (5, 17, 10, 9, 6, False), (2, 25, 8, 3, 7, False),
             (4, 12, 48, 0, 8, True), (6, 40, 29, 28, 15, False)]
    for k, (batch, frames, classes, blank, max_len, infeasible) in enumerate(specs):
        labels = [c for c in range(classes) if c != blank]
        target_lengths = rng.integers(1, max_len + 1, size=batch)
        pad = next(c for c in labels if c != labels[0])
        targets = np.full((batch, max_len), pad, dtype=np.int64)
        for b, n in enumerate(target_lengths):
            targets[b, :n] = rng.choice(labels, size=n)
        input_lengths = rng.integers(min(max(max_len * 2, frames // 2), frames), frames + 1, size=batch)
        input_lengths[0] = frames
        if infeasible:
            target_lengths[-1], input_lengths[-1] = max_len, max_len // 2
            targets[-1] = rng.choice(labels, size=max_len)
        log_probs = log_softmax(rng.normal(scale=2.0, size=(batch, frames, classes))).astype(np.float32)
        cases.append(Case((log_probs, targets, input_lengths.astype(np.int64), target_lengths.astype(np.int64), blank),
                          name="B=3, T=20, C=6, blank 0" if k == 0 else "", hidden=k > 0))
    return cases


def ctc_loss_reference(log_probs: np.ndarray, targets: np.ndarray, input_lengths: np.ndarray,
                       target_lengths: np.ndarray, blank: int) -> float:
    import torch
    from asrlab.ctc import ctc_loss

    loss = ctc_loss(torch.as_tensor(log_probs).transpose(0, 1), torch.as_tensor(targets), torch.as_tensor(input_lengths),
                    torch.as_tensor(target_lengths), blank=blank, reduction="mean", zero_infinity=True)
    return float(loss)


# ----------------------------------------------------------------------------- the model
def _reference_model(config: dict):
    """The solution's architecture from asrlab parts, with the parameter names of the notebook's class."""
    import torch
    from asrlab.models.encoders import LSTMEncoder
    from torch import nn

    class Reference(nn.Module):
        def __init__(self, input_dim, num_class, hidden_dim, num_layers, stride, dropout):
            super().__init__()
            self.stride = stride
            self.encoder = LSTMEncoder(input_dim * stride, hidden_dim, num_layers, bidirectional=True, dropout=dropout)
            self.decoder = nn.Linear(self.encoder.output_dim, num_class)

        def forward(self, inputs, input_lengths):
            batch, frames, dim = inputs.shape
            kept = frames // self.stride
            stacked = inputs[:, : kept * self.stride].reshape(batch, kept, dim * self.stride)
            hidden, lengths = self.encoder(stacked, torch.div(input_lengths, self.stride, rounding_mode="floor"))
            return self.decoder(hidden).log_softmax(-1), lengths, hidden

    return Reference(**config)


def model_cases(rng: np.random.Generator) -> List[Case]:
    import torch

    cases = []
    # (config, batch, frames)
    specs = [({"input_dim": 16, "num_class": 10, "hidden_dim": 8, "num_layers": 2, "stride": 2, "dropout": 0.2}, 2, 11),
             ({"input_dim": 12, "num_class": 48, "hidden_dim": 6, "num_layers": 1, "stride": 2, "dropout": 0.0}, 3, 17),
             ({"input_dim": 8, "num_class": 7, "hidden_dim": 5, "num_layers": 2, "stride": 3, "dropout": 0.1}, 4, 20),
             ({"input_dim": 20, "num_class": 12, "hidden_dim": 4, "num_layers": 3, "stride": 2, "dropout": 0.0}, 3, 9)]
    for k, (config, batch, frames) in enumerate(specs):
        torch.manual_seed(int(rng.integers(1 << 30)))
        state = {name: value.numpy().copy() for name, value in _reference_model(config).state_dict().items()}
        lengths = rng.integers(max(config["stride"], 2), frames + 1, size=batch)
        lengths[0] = frames
        lengths[-1] = frames - 1 if frames % 2 == 0 else frames - 2   # an odd or short length
        feats = rng.normal(size=(batch, frames, config["input_dim"])).astype(np.float32)
        pad_after(feats, lengths)
        cases.append(Case((config, state, feats, lengths.astype(np.int64)), name="the public example" if k == 0 else "",
                          hidden=k > 0))
    return cases


def model_reference(config: dict, state: dict, feats: np.ndarray, lengths: np.ndarray) -> dict:
    import torch

    model = _reference_model(config)
    model.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()})
    model.eval()
    with torch.no_grad():
        log_probs, out_lengths, hidden = model(torch.as_tensor(feats), torch.as_tensor(lengths))
    return {"log_probs": log_probs.numpy(), "lengths": out_lengths.numpy().astype(np.int64), "hidden": hidden.numpy()}


# ----------------------------------------------------------------------------- best and worst
def low_high_cases(rng: np.random.Generator) -> List[Case]:
    cases = [Case((["hi there", "pay my bill", "thank you", "bye"], ["hi there", "pay by bil", "tank you", "buy"]),
                  name="four utterances", hidden=False)]
    letters = list("abcdefghij ")
    for n in (8, 15, 30):
        refs = ["".join(rng.choice(letters[:-1], size=int(rng.integers(3, 20)))) for _ in range(n)]
        hyps = []
        for ref in refs:
            chars = list(ref)
            for _ in range(int(rng.integers(0, 4))):
                if chars:
                    chars[int(rng.integers(len(chars)))] = str(rng.choice(letters))
            hyps.append("".join(chars))
        hyps[n // 2] = refs[n // 2]          # a second perfect utterance: the first one must win a tie
        hyps[0] = refs[0]
        cases.append(Case((refs, hyps)))
    return cases


def low_high_reference(references: List[str], hypotheses: List[str]) -> list:
    from asrlab.metrics import per_utterance_cer

    rates = per_utterance_cer(references, hypotheses)
    low, high = int(np.argmin(rates)), int(np.argmax(rates))
    return [low, float(rates[low]), high, float(rates[high])]


# ----------------------------------------------------------------------------- transcribe
def transcribe_cases(rng: np.random.Generator) -> List[Case]:
    cases = []
    # 4.2 s: longer than the 200 frames of the dataset's default crop
    for k, (kind, seconds) in enumerate([("noise", 1.0), ("chirp", 4.2), ("silence_gap", 1.8), ("tone", 0.7)]):
        weight = (4.0 * rng.normal(size=(NUM_CLASSES, 128)) / np.sqrt(128)).astype(np.float32)
        bias = np.zeros(NUM_CLASSES, dtype=np.float32)
        bias[0] = 1.5  # the blank is common, so the output has runs of blanks between characters
        cases.append(Case((_signal(rng, kind, seconds), weight, bias), name="1 s of noise" if k == 0 else "",
                          hidden=k > 0))
    return cases


def transcribe_reference(wav: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> str:
    import torch
    from asrlab.decoding import ctc_greedy_ids
    from asrlab.text import HVBVocab

    feats = torch.from_numpy(course_features(wav, **FEATURE_SETTINGS))[None]      # (1, T, 128)
    log_probs = (feats @ torch.as_tensor(weight).T + torch.as_tensor(bias)).log_softmax(-1)
    vocab = HVBVocab()
    return vocab.decode(ctc_greedy_ids(log_probs, torch.tensor([feats.shape[1]]), vocab.blank)[0])


# ----------------------------------------------------------------------------- pooling
def pool_cases(rng: np.random.Generator) -> List[Case]:
    cases = [Case((np.arange(24, dtype=np.float32).reshape(2, 4, 3), np.array([4, 2])), name="(2, 4, 3), lengths [4, 2]",
                  hidden=False)]
    for batch, frames, dim in [(3, 7, 5), (5, 12, 16), (4, 9, 8)]:
        lengths = rng.integers(1, frames + 1, size=batch)
        lengths[0] = frames
        hidden = rng.normal(size=(batch, frames, dim)).astype(np.float32)   # padded frames hold garbage, not zeros
        cases.append(Case((hidden, lengths.astype(np.int64))))
    hidden = rng.normal(size=(3, 5, 4)).astype(np.float32)
    cases.append(Case((hidden, np.array([5, 0, 2], dtype=np.int64))))          # an empty utterance
    return cases


# ----------------------------------------------------------------------------- the heads
def _head_cases(rng: np.random.Generator, make_targets) -> List[Case]:
    cases = []
    for k, (batch, dim, classes) in enumerate([(4, 6, 5), (8, 16, 14), (16, 32, 8), (5, 10, 3)]):
        weight = rng.normal(scale=0.8 / np.sqrt(dim), size=(classes, dim)).astype(np.float32)   # logits of a few units
        bias = rng.normal(scale=0.3, size=classes).astype(np.float32)
        pooled = rng.normal(size=(batch, dim)).astype(np.float32)
        cases.append(Case((weight, bias, pooled, make_targets(rng, batch, classes)), hidden=k > 0,
                          name="B=4, H=6" if k == 0 else ""))
    return cases


def task_type_cases(rng: np.random.Generator) -> List[Case]:
    return _head_cases(rng, lambda r, b, c: r.integers(0, c, size=b).astype(np.int64))


def dialog_acts_cases(rng: np.random.Generator) -> List[Case]:
    def targets(r, b, c):
        acts = (r.random(size=(b, c)) < 0.3).astype(np.float32)
        acts[0, :2] = 1.0  # at least one utterance with two acts on
        return acts
    return _head_cases(rng, targets)


def sentiment_cases(rng: np.random.Generator) -> List[Case]:
    cases = []
    for k, (batch, dim) in enumerate([(4, 6), (8, 16), (16, 32), (5, 10)]):
        weight = rng.normal(scale=0.8, size=(3, dim)).astype(np.float32)
        bias = rng.normal(scale=0.3, size=3).astype(np.float32)
        pooled = rng.normal(size=(batch, dim)).astype(np.float32)
        targets = rng.dirichlet(np.ones(3) * 0.7, size=batch).astype(np.float32)   # soft: the argmax loses information
        targets[0] = [0.0, 2 / 3, 1 / 3]
        cases.append(Case((weight, bias, pooled, targets), hidden=k > 0, name="B=4, H=6" if k == 0 else ""))
    return cases


def _linear(weight, bias, pooled):
    import torch

    return torch.as_tensor(pooled) @ torch.as_tensor(weight).T + torch.as_tensor(bias)


def task_type_reference(weight: np.ndarray, bias: np.ndarray, pooled: np.ndarray, targets: np.ndarray) -> dict:
    import torch

    log_probs = _linear(weight, bias, pooled).log_softmax(-1)
    return {"outputs": log_probs.numpy(), "loss": float(torch.nn.functional.nll_loss(log_probs, torch.as_tensor(targets)))}


def dialog_acts_reference(weight: np.ndarray, bias: np.ndarray, pooled: np.ndarray, targets: np.ndarray) -> dict:
    import torch
    import torch.nn.functional as F

    logits = _linear(weight, bias, pooled)
    return {"outputs": logits.numpy(), "loss": float(F.binary_cross_entropy_with_logits(logits, torch.as_tensor(targets)))}


def sentiment_reference(weight: np.ndarray, bias: np.ndarray, pooled: np.ndarray, targets: np.ndarray) -> dict:
    import torch

    log_probs = _linear(weight, bias, pooled).log_softmax(-1)
    return {"outputs": log_probs.numpy(), "loss": float(-(torch.as_tensor(targets) * log_probs).sum(-1).mean())}


# ----------------------------------------------------------------------------- the weighted sum
def combine_cases(rng: np.random.Generator) -> List[Case]:
    tasks = ("asr", "task_type", "dialog_acts", "sentiment")
    cases = [Case(({"asr": 2.0, "task_type": 1.0, "dialog_acts": 0.5, "sentiment": 0.25},
                   {"asr": 0.7, "task_type": 0.1, "dialog_acts": 0.1, "sentiment": 0.1}), name="0.7/0.1/0.1/0.1",
                  hidden=False)]
    for keep in (4, 2, 3, 1):
        losses = {t: float(rng.uniform(0.1, 4.0)) for t in tasks}
        chosen = rng.choice(tasks, size=keep, replace=False)
        weights = {str(t): float(rng.uniform(0.0, 2.0)) for t in chosen}
        if keep == 3:
            weights[str(chosen[0])] = 0.0
        cases.append(Case((losses, weights)))
    return cases


def combine_reference(losses: dict, weights: dict) -> float:
    return float(sum(w * losses[t] for t, w in weights.items()))


# ----------------------------------------------------------------------------- the hidden split
@functools.lru_cache(maxsize=1)
def hvb_held_out():
    """The hidden HarperValleyBank corpus's val and test speakers (made once per process)."""
    from asrlab_grade.hidden import hvb_test

    return hvb_test(("val", "test"))

