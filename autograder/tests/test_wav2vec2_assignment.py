"""The hidden tasks of the ``wav2vec2`` assignment catch plausible wrong answers and accept correct alternatives.

Fast and in-process (no sandbox, no training): the solution notebook's answer cells are executed, then mutated one
idea at a time; each variant is called on the task's cases (adapters included, results sent through the wire
encoding) and compared with the trusted references exactly as the grader does. ``ASRLAB_BUDGET=ci asrlab-grade
validate wav2vec2`` covers the sandboxed path with a really trained model (solution full marks, blank release 0).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict

import numpy as np
import pytest

pytest.importorskip("transformers")

from asrlab_grade.course_folder import Course  # noqa: E402
from asrlab_grade.task import band_fraction  # noqa: E402
from harness import ROOT, answer_sources, nbgrader_round_trip, score_cases, solution_notebook  # noqa: E402
from harness import namespace as run_cells  # noqa: E402

SOLUTION = solution_notebook("wav2vec2")

pytestmark = pytest.mark.skipif(not SOLUTION.is_file(), reason="no wav2vec2 solution notebook")

# Cells that define the helpers and answers (no corpus, no training).
CELLS = ("setup", "vocab_answer", "processor_answer", "collator_answer", "metrics_answer", "model_answer",
         "contrastive_answer")
GRADE_IDS = ["test_vocab", "test_processor", "test_collator", "test_metrics", "test_model", "test_training_args",
             "test_contrastive"]
CALLS = {"test_vocab": "vocab_answer", "test_processor": "processor_answer", "test_collator": "collator_answer",
         "test_metrics": "metrics_answer", "test_model": "model_answer", "test_training_args": "model_answer",
         "test_contrastive": "contrastive_answer"}


def cell_sources(path: Path, code_only: bool = False) -> Dict[str, str]:
    nb = json.loads(path.read_text())
    return {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"]) for c in nb["cells"]
            if not code_only or c["cell_type"] == "code"}


@pytest.fixture(scope="module")
def assignment():
    return Course(ROOT).load_assignment("wav2vec2")


@pytest.fixture(scope="module")
def sources() -> Dict[str, str]:
    return answer_sources("wav2vec2", CELLS)


@pytest.fixture(autouse=True)
def scratch(tmp_path, monkeypatch):
    """Adapters write vocab.json and model folders into the working directory, as in the sandbox's scratch."""
    monkeypatch.chdir(tmp_path)


def namespace(sources: Dict[str, str], **replace: tuple) -> Dict[str, Any]:
    return run_cells(sources, CELLS, **replace)


def score(assignment, grade_id: str, ns: Dict[str, Any], seed: int = 11) -> tuple:
    return score_cases(assignment, grade_id, ns, seed)


@pytest.mark.parametrize("grade_id", GRADE_IDS)
def test_solution_passes_every_case(assignment, sources, grade_id):
    passed, total, message = score(assignment, grade_id, namespace(sources))
    assert passed == total, message


WRONG = {
    "vocab: the space kept as a token": ("test_vocab", {"vocab_answer": (
        'set("".join(texts)) - {" "}', 'set("".join(texts))')}),
    "vocab: no [UNK]": ("test_vocab", {"vocab_answer": ('["[PAD]", "[UNK]", "|"]', '["[PAD]", "|"]')}),
    "vocab: ids start at 1": ("test_vocab", {"vocab_answer": (
        "{token: i for i, token in enumerate(tokens)}", "{token: i + 1 for i, token in enumerate(tokens)}")}),
    "vocab: characters of the first text only": ("test_vocab", {"vocab_answer": (
        'set("".join(texts))', 'set(texts[0])')}),
    "processor: tokenizer defaults for the special tokens": ("test_processor", {"processor_answer": (
        ', unk_token="[UNK]", pad_token="[PAD]", word_delimiter_token="|")', ")")}),
    "processor: [UNK] as the pad token": ("test_processor", {"processor_answer": (
        'pad_token="[PAD]"', 'pad_token="[UNK]"')}),
    "processor: no normalization": ("test_processor", {"processor_answer": (
        "do_normalize=True", "do_normalize=False")}),
    "processor: no attention mask": ("test_processor", {"processor_answer": (
        "return_attention_mask=True", "return_attention_mask=False")}),
    "processor: 8 kHz": ("test_processor", {"processor_answer": ("sampling_rate=SAMPLE_RATE", "sampling_rate=8000")}),
    "collator: labels padded with the pad id": ("test_collator", {"collator_answer": (
        'padded["input_ids"].masked_fill(padded["attention_mask"].ne(1), -100)', 'padded["input_ids"]')}),
    "collator: -100 on the real labels": ("test_collator", {"collator_answer": (
        'padded["attention_mask"].ne(1), -100)', 'padded["attention_mask"].eq(1), -100)')}),
    "collator: no attention mask": ("test_collator", {"collator_answer": (
        "padding=True, return_attention_mask=True,\n", "padding=True, return_attention_mask=False,\n")}),
    "metrics: labels decoded with CTC grouping": ("test_metrics", {"metrics_answer": (
        "refs = processor.batch_decode(label_ids, group_tokens=False)", "refs = processor.batch_decode(label_ids)")}),
    "metrics: hypotheses first": ("test_metrics", {"metrics_answer": (
        '{"wer": wer(refs, hyps), "cer": cer(refs, hyps)}', '{"wer": wer(hyps, refs), "cer": cer(hyps, refs)}')}),
    "metrics: -100 left in the labels": ("test_metrics", {"metrics_answer": (
        "label_ids = np.where(pred.label_ids == -100, processor.tokenizer.pad_token_id, pred.label_ids)",
        "label_ids = np.where(pred.label_ids == -100, processor.tokenizer.unk_token_id, pred.label_ids)")}),
    "model: summed CTC loss": ("test_model", {"model_answer": ('ctc_loss_reduction="mean"', 'ctc_loss_reduction="sum"')}),
    "model: feature encoder not frozen": ("test_model", {"model_answer": ("    model.freeze_feature_encoder()\n", "")}),
    "model: the whole base model frozen": ("test_model", {"model_answer": (
        "model.freeze_feature_encoder()", "model.freeze_base_model()")}),
    "model: blank = [UNK]": ("test_model", {"model_answer": (
        "pad_token_id=processor.tokenizer.pad_token_id", "pad_token_id=processor.tokenizer.unk_token_id")}),
    "model: head one too small": ("test_model", {"model_answer": (
        "vocab_size=len(processor.tokenizer)", "vocab_size=len(processor.tokenizer) - 1")}),
    "model: start point ignored": ("test_model", {"model_answer": (
        "hf.wav2vec2_for_ctc(start,", "hf.wav2vec2_for_ctc(hf.TINY,")}),
    "model: config not passed on": ("test_model", {"model_answer": (
        "vocab_size=len(processor.tokenizer), **config)", "vocab_size=len(processor.tokenizer))")}),
    "args: length grouping off": ("test_training_args", {"model_answer": (
        'train_sampling_strategy="group_by_length"', 'train_sampling_strategy="random"')}),
    "args: warm-up ignored": ("test_training_args", {"model_answer": (
        "warmup_steps=warmup_steps", "warmup_steps=0")}),
    "args: fp16 everywhere": ("test_training_args", {"model_answer": (
        "fp16=torch.cuda.is_available()", "fp16=True")}),
    "contrastive: dot product instead of cosine": ("test_contrastive", {"contrastive_answer": (
        "F.cosine_similarity(context[:, :, None].float(), candidates.float(), dim=-1)",
        "(context[:, :, None].float() * candidates.float()).sum(-1)")}),
    "contrastive: no temperature": ("test_contrastive", {"contrastive_answer": (
        "dim=-1) / temperature", "dim=-1)")}),
    "contrastive: mean over the masked steps": ("test_contrastive", {"contrastive_answer": (
        "[mask.bool()].sum()", "[mask.bool()].mean()")}),
    "contrastive: every step counted": ("test_contrastive", {"contrastive_answer": (
        "[..., 0][mask.bool()].sum()", "[..., 0].sum()")}),
    "contrastive: distractors equal to the target kept": ("test_contrastive", {"contrastive_answer": (
        'logits[..., 1:].masked_fill(same, float("-inf"))', "logits[..., 1:]")}),
    "contrastive: distractors from the context vectors": ("test_contrastive", {"contrastive_answer": (
        "distractors = quantized.reshape(batch * steps, dim)", "distractors = context.reshape(batch * steps, dim)")}),
}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", sorted(WRONG))
def test_plausible_wrong_answers_lose_points(assignment, sources, name):
    grade_id, edits = WRONG[name]
    passed, total, _ = score(assignment, grade_id, namespace(sources, **edits))
    assert passed < total, f"{name}: every case passed"


LOOP_CONTRASTIVE = '''
def contrastive_loss(context, quantized, mask, negatives, temperature):
    batch, steps, dim = quantized.shape
    flat = quantized.reshape(-1, dim)
    total = torch.zeros((), dtype=torch.float64)
    for b, t in mask.nonzero().tolist():
        q, c = quantized[b, t].double(), context[b, t].double()
        cand = [q] + [flat[i].double() for i in negatives[b, t].tolist()]
        sims = torch.stack([torch.dot(c, x) / (c.norm() * x.norm()).clamp(min=1e-8) for x in cand]) / float(temperature)
        keep = torch.tensor([True] + [not torch.equal(flat[i], quantized[b, t]) for i in negatives[b, t].tolist()])
        sims = sims.masked_fill(~keep, float("-inf"))
        total = total - (sims[0] - torch.logsumexp(sims, 0))
    return total
'''


def test_correct_alternatives_pass(assignment, sources):
    ns = namespace(sources, vocab_answer=(   # another id order: [UNK] and [PAD] last, as in many tutorials
        'tokens = ["[PAD]", "[UNK]", "|"] + [c for c in chars if c not in ("|", "[PAD]", "[UNK]")]',
        'tokens = [c for c in chars] + ["|", "[UNK]", "[PAD]"]'))
    assert score(assignment, "test_vocab", ns)[:2] == (7, 7)
    ns = namespace(sources, model_answer=(   # tokenizer.vocab_size equals len(tokenizer) without added tokens
        "vocab_size=len(processor.tokenizer)", "vocab_size=processor.tokenizer.vocab_size"))
    passed, total, message = score(assignment, "test_model", ns)
    assert passed == total, message
    ns = namespace(sources, collator_answer=(   # processor.pad routes audio to the feature extractor
        "batch = self.processor.feature_extractor.pad(audio,", "batch = self.processor.pad(audio,"))
    passed, total, message = score(assignment, "test_collator", ns)
    assert passed == total, message
    ns = namespace(sources)
    exec(LOOP_CONTRASTIVE, ns)
    passed, total, message = score(assignment, "test_contrastive", ns)
    assert passed == total, message


def test_evaluation_recipe_is_the_notebooks_and_runs(assignment, sources, tmp_path):
    """The public recipe equals the notebook's `evaluate_recipe` cell; the grader's loader reads a save_pretrained
    folder with safetensors and transcribes with it."""
    import torch

    task = assignment.task("test_trained_model")
    assert cell_sources(SOLUTION)["evaluate_recipe"].strip() == task.evaluate_source.strip()
    ns = namespace(sources)
    vocab = ns["build_vocab"](["hello world", "a dog's tail"])
    processor = ns["make_processor"](ns["save_vocab"](vocab, tmp_path / "vocab.json"))
    torch.manual_seed(0)
    model = ns["build_model"](processor, start=ns["hf"].TINY)
    model.save_pretrained(tmp_path / "saved")
    processor.save_pretrained(tmp_path / "saved")
    assert not list((tmp_path / "saved").glob("*.bin"))
    recipe: Dict[str, Any] = {}
    exec(task.adapter, recipe)
    rng = np.random.default_rng(0)
    waves = [rng.normal(scale=0.1, size=n).astype(np.float32) for n in (8000, 12345)]
    out = recipe["adapt"](ns["Wav2Vec2ForCTC"], str(tmp_path / "saved"), waves)
    assert isinstance(out, list) and len(out) == 2 and all(isinstance(t, str) for t in out)
    os.environ.pop("HF_HUB_OFFLINE", None)
    public: Dict[str, Any] = {}
    exec(task.evaluate_source, public)
    assert out == public["transcribe"](model.eval(), processor, waves, "cpu")


def test_bands_follow_the_notebook():
    """The bands the notebook's introduction and public check state are the grader's."""
    from asrlab_grade.tasks.wav2vec2 import CI_BANDS, FULL_BANDS

    text = cell_sources(SOLUTION)["intro"]
    assert f"WER <= {FULL_BANDS[0].max_value:g} %" in text and f"CER <= {CI_BANDS[0].max_value:g} %" in text
    check = cell_sources(SOLUTION)["test_trained_model"]
    for bands in (FULL_BANDS, CI_BANDS):
        assert "[" + ", ".join(f"({b.max_value:g}, {b.fraction})" for b in bands) + "]" in check
    assert [band_fraction(v, CI_BANDS) for v in (CI_BANDS[0].max_value, CI_BANDS[-1].max_value + 1, float("nan"))] \
        == [1.0, 0.0, 0.0]


def test_skipped_cells_exist_and_answers_need_no_corpus(assignment):
    """Every skipped cell exists; no cell outside them touches the corpus or trains."""
    task = assignment.task("test_trained_model")
    cells = cell_sources(SOLUTION, code_only=True)
    assert set(task.skip_cells) <= set(cells)
    for gid, src in cells.items():
        if gid not in task.skip_cells and not gid.startswith("test_"):
            for needs_data in ("course.librispeech", "splits[", ".train(", "train_texts"):
                assert needs_data not in src, f"{gid} uses {needs_data} but is not skipped"


# ----------------------------------------------------------------------------- the nbgrader path (slow)
def _untrained_model(sources: Dict[str, str]):
    """wav2vec2_ctc/ holding an untrained tiny model: nbgrader must load it, not retrain."""
    import torch

    def add(folder: Path) -> None:
        ns = namespace(sources)
        vocab = ns["build_vocab"](["the quick brown fox jumps over a lazy dog's back"])
        processor = ns["make_processor"](ns["save_vocab"](vocab, folder / "vocab.json"))
        torch.manual_seed(0)
        model = ns["build_model"](processor, start=ns["hf"].TINY)
        model.save_pretrained(folder / "wav2vec2_ctc")
        processor.save_pretrained(folder / "wav2vec2_ctc")
    return add


@pytest.mark.slow
def test_release_is_fresh_and_plain_nbgrader_grades_it(tmp_path, sources, monkeypatch):
    """generate_assignment reproduces the committed release; nbgrader autograde runs the filled-in release (with a
    submitted, here untrained, model folder: it loads it and does not retrain) and the blank one without crashing."""
    monkeypatch.setenv("ASRLAB_BUDGET", "ci")
    scores = nbgrader_round_trip(tmp_path, "wav2vec2", _untrained_model(sources))
    graded = tmp_path / "course" / "autograded" / "full" / "wav2vec2" / "wav2vec2.ipynb"
    assert "loaded wav2vec2_ctc/" in graded.read_text()
    assert scores == {"full": 12.0, "blank": 0.0}     # all but the untrained model's 8 points


def test_no_adapter_calls_what_a_task_forbids(assignment):
    """A forbidden call is blocked for the whole notebook, so no adapter (public fixture code) may make one."""
    forbidden = {name.rsplit(".", 1)[-1] for task in assignment.tasks for name in task.forbidden}
    for task in assignment.tasks:
        for name in forbidden:
            assert name not in (task.adapter or ""), f"{task.grade_id}'s adapter calls the forbidden {name}"
