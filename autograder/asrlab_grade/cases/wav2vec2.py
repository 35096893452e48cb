"""Hidden inputs and references of the ``wav2vec2`` assignment's tasks (see ``tasks/wav2vec2.py``).

Random transcripts of words with doubled letters, vocabularies in a random id order, waveforms, collator items,
one-hot logits of CTC paths, model and training settings, and seeded pre-training batches.
"""
from __future__ import annotations

from typing import List

import numpy as np

from asrlab_grade.recipes import wav2vec2 as recipes
from asrlab_grade.task import Case

LETTERS = "abcdefghijklmnopqrstuvwxyz'"
# Words with doubled letters: decoding labels with CTC grouping would drop one of each pair.
WORDS = ("hello", "coffee", "little", "book", "tree", "all", "summer", "apple", "see", "the", "a", "dog's", "green",
         "moon", "sleep", "bell", "river", "stone", "happy", "will", "door", "add", "egg", "zoo", "jazz", "quick")


def _sentences(rng: np.random.Generator, count: int, max_words: int = 6) -> List[str]:
    return [" ".join(rng.choice(WORDS, size=int(rng.integers(1, max_words + 1)))) for _ in range(count)]


def _vocab_of(texts: List[str], rng: np.random.Generator) -> dict:
    """A correct vocabulary of ``texts`` in a random id order (the grader's inputs, not a reference)."""
    tokens = sorted(set("".join(texts)) - {" "}) + ["|", "[UNK]", "[PAD]"]
    return {t: int(i) for t, i in zip(tokens, rng.permutation(len(tokens)))}


# A correct processor as a fixture for the collator, metrics and model tasks. It is built here with transformers, not
# with asrlab.hf.ctc_processor: test_processor forbids that function, and a forbidden call is blocked for the whole
# notebook. test_processor's reference is asrlab.hf.ctc_processor itself.
def _fixture_processor(vocab, use):
    """use(processor) with the adapters' fixture processor, its vocabulary file in a temporary folder."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return use(recipes._processor(vocab, tmp))


# ----------------------------------------------------------------------------- vocabulary
def vocab_cases(rng: np.random.Generator) -> List[Case]:
    cases = [Case((["the cat", "a dog's tail"],), name='["the cat", "a dog\'s tail"]', hidden=False)]
    for count in (5, 12, 1, 30):
        cases.append(Case((_sentences(rng, count),)))
    cases.append(Case((["hello"],)))                                  # one word: no space in the data at all
    letters = list(LETTERS)
    rng.shuffle(letters)
    cases.append(Case(([" ".join(letters[i:i + 4]) for i in range(0, 24, 4)],)))
    return cases


def vocab_reference(texts: List[str]) -> List[str]:
    return sorted(set("".join(texts)) - {" "} | {"|", "[UNK]", "[PAD]"})


# ----------------------------------------------------------------------------- processor
def _waveforms(rng: np.random.Generator, lengths: List[int]) -> List[np.ndarray]:
    return [(rng.normal(rng.uniform(-2, 2), rng.uniform(0.1, 3), size=n)).astype(np.float32) for n in lengths]


def processor_cases(rng: np.random.Generator) -> List[Case]:
    cases = []
    for count, lengths in ((6, [1600, 900, 2400]), (3, [500, 500]), (10, [3000, 120, 1800, 2222]), (4, [800])):
        train = _sentences(rng, count)
        texts = _sentences(rng, 3) + ["hello zebra"]                  # 'z', 'b', 'r' may be unseen: [UNK]
        cases.append(Case((_vocab_of(train, rng), texts, _waveforms(rng, lengths))))
    return cases


def processor_reference(vocab: dict, texts: List[str], waveforms: List[np.ndarray]) -> dict:
    import json
    import tempfile
    from pathlib import Path

    from asrlab import hf

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "vocab.json"
        path.write_text(json.dumps(vocab))
        return recipes._outputs(hf.ctc_processor(path), texts, waveforms)


# ----------------------------------------------------------------------------- collator
def collator_cases(rng: np.random.Generator) -> List[Case]:
    cases = []
    for lengths, label_lengths in (([12, 7, 20], [4, 9, 2]), ([5, 5], [3, 3]), ([30, 1, 17, 9], [1, 6, 6, 12]),
                                   ([8], [5])):
        vocab = _vocab_of(_sentences(rng, 4), rng)
        values = [rng.normal(size=n).astype(np.float32) for n in lengths]
        ids = [rng.integers(0, len(vocab), size=m).tolist() for m in label_lengths]
        cases.append(Case((vocab, values, ids)))
    return cases


def collator_reference(vocab: dict, values: List[np.ndarray], labels: List[List[int]]) -> dict:
    width, length = max(len(v) for v in values), max(len(l) for l in labels)
    padded = np.zeros((len(values), width), np.float32)
    mask = np.zeros((len(values), width), np.int64)
    out = np.full((len(labels), length), -100, np.int64)
    for b, (v, l) in enumerate(zip(values, labels)):
        padded[b, :len(v)], mask[b, :len(v)], out[b, :len(l)] = v, 1, l
    return {"input_values": padded, "attention_mask": mask, "labels": out}


# ----------------------------------------------------------------------------- metrics
def _ctc_path(rng: np.random.Generator, ids: List[int], blank: int) -> List[int]:
    """A CTC path of ``ids``: random repeats, random blanks, a blank between equal neighbours."""
    path: List[int] = [blank] * int(rng.integers(0, 3))
    for k, i in enumerate(ids):
        if k and ids[k - 1] == i:
            path.append(blank)
        path += [i] * int(rng.integers(1, 4))
        path += [blank] * int(rng.integers(0, 2))
    return path


def metrics_cases(rng: np.random.Generator) -> List[Case]:
    cases = []
    for count in (4, 6, 3, 8):
        refs = _sentences(rng, count)
        hyps = [r if rng.random() < 0.3 else " ".join(w if rng.random() < 0.6 else str(rng.choice(WORDS))
                                                      for w in r.split()) for r in refs]
        vocab = _vocab_of(refs + hyps, rng)
        blank = vocab["[PAD]"]

        def ids(text):
            return [vocab["|" if c == " " else c] for c in text]

        paths = [_ctc_path(rng, ids(h), blank) for h in hyps]
        frames = max(map(len, paths)) + int(rng.integers(0, 4))
        logits = rng.normal(size=(count, frames, len(vocab))).astype(np.float32)
        for b, path in enumerate(paths):
            full = path + [blank] * (frames - len(path))
            logits[b, np.arange(frames), full] += 8.0
        length = max(len(r) for r in refs)
        label_ids = np.full((count, length), -100, np.int64)
        for b, r in enumerate(refs):
            label_ids[b, :len(r)] = ids(r)
        cases.append(Case((vocab, logits, label_ids)))
    return cases


def metrics_reference(vocab: dict, logits: np.ndarray, label_ids: np.ndarray) -> dict:
    return _fixture_processor(vocab, lambda processor: _greedy_metrics(processor, vocab, logits, label_ids))

def _greedy_metrics(processor, vocab, logits, label_ids):
    from asrlab.metrics import cer, wer

    hyps = processor.batch_decode(np.argmax(logits, axis=-1))
    refs = processor.batch_decode(np.where(label_ids == -100, vocab["[PAD]"], label_ids), group_tokens=False)
    return {"wer": float(wer(refs, hyps)), "cer": float(cer(refs, hyps))}


# ----------------------------------------------------------------------------- model and arguments
def model_cases(rng: np.random.Generator) -> List[Case]:
    cases = []
    for k in range(3):
        vocab = _vocab_of(_sentences(rng, int(rng.integers(3, 12))), rng)
        config = [{}, {"mask_time_prob": 0.0, "layerdrop": 0.0}, {"mask_time_prob": 0.1}][k]
        saved = {"hidden_size": int(rng.choice([96, 128])), "num_hidden_layers": 2, "num_attention_heads": 4,
                 "intermediate_size": 256}
        cases.append(Case((vocab, config, saved, int(rng.integers(1 << 30)))))
    return cases


def model_reference(vocab: dict, config: dict, saved_config: dict, seed: int) -> dict:
    tokenizer = _fixture_processor(vocab, lambda processor: processor.tokenizer)
    # len(tokenizer) counts the <s> and </s> tokens the tokenizer adds; tokenizer.vocab_size does not: either works.
    return {"pad": int(vocab["[PAD]"]), "vocab": sorted({len(vocab), int(tokenizer.vocab_size), len(tokenizer)}),
            "config": dict(config),
            "hidden": {"tiny": None, "folder": int(saved_config["hidden_size"])}}


def args_cases(rng: np.random.Generator) -> List[Case]:
    public = Case(({"epochs": 3, "learning_rate": 3e-4, "batch_size": 4, "warmup_steps": 10},),
                  name="epochs=3, learning_rate=3e-4, batch_size=4, warmup_steps=10", hidden=False)
    return [public] + [Case(({"epochs": int(rng.integers(2, 40)), "learning_rate": float(rng.choice([1e-4, 3e-4, 2e-3])),
                              "batch_size": int(rng.choice([2, 8, 16])), "warmup_steps": int(rng.integers(1, 500))},))
                       for _ in range(3)]


# ----------------------------------------------------------------------------- contrastive loss
def contrastive_cases(rng: np.random.Generator) -> List[Case]:
    specs = [  # (batch, samples, config, mask_prob)
        (2, 16000, {}, 0.5),
        (3, 12000, {"num_codevector_groups": 1, "num_codevectors_per_group": 2}, 0.5),   # many equal targets
        (1, 24000, {"num_negatives": 5, "contrastive_logits_temperature": 0.5}, 0.3),
        (4, 8000, {"num_codevector_groups": 1, "num_codevectors_per_group": 8, "num_negatives": 12}, 0.65),
    ]
    cases = []
    for batch, samples, config, mask_prob in specs:
        spec = {"seed": int(rng.integers(1 << 30)), "config": config, "mask_prob": mask_prob,
                "waves": rng.normal(scale=0.5, size=(batch, samples)).astype(np.float32)}
        cases.append(Case((spec,)))
    return cases


def contrastive_reference(spec: dict) -> np.float64:
    import torch
    from asrlab import hf

    torch.manual_seed(spec["seed"])
    model = hf.wav2vec2_for_pretraining(hf.TINY, **spec["config"]).eval()
    waves = torch.as_tensor(spec["waves"])
    f = hf.pretraining_features(model, waves, mask_prob=spec["mask_prob"], seed=spec["seed"])
    with torch.no_grad():
        out = model(waves, mask_time_indices=f["mask"], sampled_negative_indices=f["negatives"])
    return np.float64(out.contrastive_loss.item())
