"""Comparators of the Hugging Face pieces of the ``wav2vec2`` assignment: vocabulary, processor, collator,
metrics, model and training arguments (the adapters in ``recipes/wav2vec2.py`` turn each into plain data).

Like :mod:`asrlab_grade.compare`, they run only in the trusted process and word their messages for the student.
"""
from __future__ import annotations

from typing import Any, Dict, List

import numpy as np

from .compare import PASS, ArrayClose, ScalarClose, Verdict, unwrap

SAMPLE_RATE = 16_000
VALUES_CLOSE = ArrayClose(rtol=1e-4, atol=1e-4, dtype="kind", container="either")


def check_vocab(got: Any, expected: List[str]) -> Verdict:
    if not isinstance(got, dict) or "tokens" not in got:
        return Verdict(False, f"build_vocab must return a dict token -> id, got {got.get('type', '?')}")
    tokens, ids = got["tokens"], got["ids"]
    if sorted(tokens) != expected:
        extra, missing = sorted(set(tokens) - set(expected)), sorted(set(expected) - set(tokens))
        return Verdict(False, f"tokens {extra} should not be in the vocabulary and {missing} are missing "
                              "(the space becomes '|'; add [UNK] and [PAD])")
    if sorted(ids) != list(range(len(tokens))):
        return Verdict(False, f"the ids must be the integers 0 .. {len(tokens) - 1}, each used once")
    return PASS


def check_processor(got: Any, expected: Dict[str, Any]) -> Verdict:
    if got["special"] != expected["special"]:
        return Verdict(False, f"the [PAD], [UNK] and word-delimiter ids are {got['special']}, expected "
                              f"{expected['special']}: pass unk_token, pad_token and word_delimiter_token")
    if got["ids"] != expected["ids"]:
        return Verdict(False, "processor(text=...) gives other label ids than the vocabulary's (characters, '|' for "
                              "spaces, [UNK] for unseen characters)")
    if got["decoded"] != expected["decoded"]:
        return Verdict(False, "batch_decode(labels, group_tokens=False) does not give the texts back")
    if got["sampling_rate"] != SAMPLE_RATE:
        return Verdict(False, f"the feature extractor's sampling rate is {got['sampling_rate']}, expected 16000")
    if got["mask"] is None:
        return Verdict(False, "the feature extractor returns no attention mask: return_attention_mask=True")
    mask = unwrap(got["mask"])
    if not isinstance(mask, np.ndarray) or mask.shape != expected["mask"].shape or \
            not np.array_equal(mask, expected["mask"]):
        return Verdict(False, "the attention mask must be 1 on every utterance's samples and 0 on padding")
    verdict = VALUES_CLOSE(got["values"], expected["values"])
    if not verdict.ok:
        return Verdict(False, "input values: " + verdict.message + "; normalize every utterance to zero mean and "
                              "unit variance over its own samples (do_normalize=True) and pad with 0.0")
    return PASS


def check_collator(got: Any, expected: Dict[str, Any]) -> Verdict:
    for key, what in (("input_values", "padded audio (value 0.0)"), ("attention_mask", "the attention mask"),
                      ("labels", "labels padded with -100")):
        if got.get(key) is None:
            return Verdict(False, f"the batch has no '{key}'")
        arr = unwrap(got[key])
        want = expected[key]
        if not isinstance(arr, np.ndarray) or arr.shape != want.shape:
            return Verdict(False, f"'{key}' has shape {list(getattr(arr, 'shape', []))}, expected {list(want.shape)} "
                                  "(pad to the longest item of the batch)")
        if key == "labels" and arr.dtype.kind not in "iu":
            return Verdict(False, f"labels must be integers, got {arr.dtype}")
        if not np.allclose(arr.astype(np.float64), want.astype(np.float64), rtol=0, atol=1e-6):
            return Verdict(False, f"'{key}' differs from {what}")
    return PASS


def check_metrics(got: Any, expected: Dict[str, float]) -> Verdict:
    for key in ("wer", "cer"):
        verdict = ScalarClose(rtol=1e-6, atol=1e-9)(got[key], expected[key])
        if not verdict.ok:
            return Verdict(False, f"{key}: {verdict.message} (fractions, references first)")
    return PASS


def check_model(got: Any, expected: Dict[str, Any]) -> Verdict:
    for name in ("tiny", "folder"):
        m = got[name]
        where = "from the tiny start" if name == "tiny" else "from a save_pretrained folder"
        if m["reduction"] != "mean":
            return Verdict(False, f"ctc_loss_reduction is {m['reduction']!r}, expected 'mean'")
        if m["pad"] != expected["pad"]:
            return Verdict(False, f"pad_token_id is {m['pad']}, expected the tokenizer's [PAD] id {expected['pad']} "
                                  "(the CTC blank)")
        if m["head"] not in expected["vocab"] or m["vocab"] != m["head"]:
            return Verdict(False, f"the CTC head has {m['head']} outputs (vocab_size {m['vocab']}) for "
                                  f"{expected['vocab'][-1]} tokens (len(processor.tokenizer))")
        if not m["frozen"] or not all(n.startswith("wav2vec2.feature_extractor.") for n in m["frozen"]):
            return Verdict(False, "freeze the convolutional feature encoder, and only it "
                                  "(model.freeze_feature_encoder())")
        if any(n.startswith("wav2vec2.feature_extractor.") for n in m["trainable"]):
            return Verdict(False, "some parameters of the feature encoder are still trainable")
        for key, value in expected["config"].items():
            if m["overrides"].get(key) != value:
                return Verdict(False, f"config field {key} is {m['overrides'].get(key)!r}, expected {value!r}: pass "
                                      "**config on to the model")
        if name == "folder" and (m["hidden"] != expected["hidden"]["folder"] or not m.get("loaded")):
            return Verdict(False, f"built {where}, the model does not hold that folder's weights: load `start`")
    return PASS


def check_args(a: Any, want: Dict[str, Any]) -> Verdict:
    if (a["epochs"], a["learning_rate"], a["batch_size"], a["warmup_steps"]) != \
            (float(want["epochs"]), want["learning_rate"], want["batch_size"], want["warmup_steps"]):
        return Verdict(False, "TrainingArguments must take epochs, learning_rate, batch_size and warmup_steps as given")
    if a["sampling"] != "group_by_length":
        return Verdict(False, f"train_sampling_strategy is {a['sampling']!r}, expected 'group_by_length'")
    if a["eval"] != "epoch":
        return Verdict(False, f"eval_strategy is {a['eval']!r}, expected 'epoch'")
    if a["fp16"] or a["report_to"] not in ([], ["none"]):
        return Verdict(False, "on a CPU fp16 must be off, and report_to='none'")
    if a["save"] != "no":
        return Verdict(False, f"save_strategy is {a['save']!r}: the notebook saves the model itself ('no')")
    return PASS
