"""Hidden grading tasks of the ``wav2vec2`` assignment (instructor side; never released).

Eight tasks, one per graded test cell of ``solutions/wav2vec2/wav2vec2.ipynb``:

* ``test_vocab`` -- ``build_vocab`` on random transcripts: exactly the characters but the space, plus ``|``,
  ``[UNK]`` and ``[PAD]``, with the ids 0 .. n-1 each used once (any order).
* ``test_processor`` -- ``make_processor`` on a hidden vocabulary: label ids and their round trip (unseen
  characters -> ``[UNK]``), the special tokens, the sampling rate, and the normalized padded input values and
  attention mask of a batch, all equal to :func:`asrlab.hf.ctc_processor`'s.
* ``test_collator`` -- ``DataCollatorCTCWithPadding`` on items of random lengths: padded input values, the
  attention mask, and labels padded with -100 (shapes, values, integer labels).
* ``test_metrics`` -- ``make_compute_metrics`` on one-hot logits of CTC paths (repeats, blanks between doubled
  letters, padded labels): WER and CER of the greedy transcripts against the labels decoded without grouping.
* ``test_model`` -- ``build_model`` from the tiny start point and from a folder the adapter saves (its weights must
  be the ones loaded): loss reduction, pad id, head size, frozen feature encoder only, config overrides passed on.
* ``test_training_args`` -- ``make_training_args``: the values given, length grouping, evaluation every epoch, no
  checkpoints, no reporting, fp16 off on a CPU.
* ``test_contrastive`` -- ``contrastive_loss`` on a seeded ``Wav2Vec2ForPreTraining``'s projected states, masks and
  distractors (:func:`asrlab.hf.pretraining_features`) against the model's own ``contrastive_loss``; small
  codebooks make distractors equal to the target.
* ``test_trained_model`` -- the submitted ``wav2vec2_ctc/`` folder, loaded with safetensors only, transcribes the
  hidden test split with the notebook's public recipe; bands on CER (``ci``) or WER (``full``).

Hidden inputs and the references that are more than a library call: ``asrlab_grade/cases/wav2vec2.py``; the
plausible wrong answers these cases catch: ``autograder/tests/test_wav2vec2_assignment.py``.
"""
from __future__ import annotations

from asrlab_grade.cases import wav2vec2 as cases
from asrlab_grade.cases.common import librispeech_test_clean
from asrlab_grade.compare import ScalarClose
from asrlab_grade.compare_hf import (check_args, check_collator, check_metrics, check_model, check_processor,
                                     check_vocab)
from asrlab_grade.recipes import wav2vec2 as recipes
from asrlab_grade.recipes import source
from asrlab_grade.task import Assignment, Band, FunctionTask, Limits, PerBudget, TrainingTask, asrlab_metric

SKIP_CELLS = ("load_data", "train_model", "evaluate_model")

# The trained model's public recipe: the same source as the notebook's `evaluate_recipe` cell (a test keeps
# them equal).
EVALUATE = source(recipes.transcribe, name="transcribe")

MODEL_DIR = "wav2vec2_ctc"
# Loads the submitted folder with safetensors only (a pickled pytorch_model.bin is never read) and runs the recipe.
LOAD_ADAPTER = source(recipes.load_adapter, recipes.transcribe)

# full: WER of a fine-tuned wav2vec2-base (the reference's own figures; not measured here, as the course machine has
# no GPU). ci: CER of the tiny model trained from random weights on CPU. With batches of 8, 8 epochs scored hidden
# CER 14-18 % in `validate` and 6 epochs public test CER 39.9 %; the solution now takes batches of 4 for 5 epochs
# (more steps in less time): public test CER 22.9 %. Dev CER was 0.999 after 4 epochs of batches of 8 at half the
# learning rate, so weak runs fall into the lower bands.
FULL_BANDS = (Band(30.0, 1.0), Band(40.0, 0.75), Band(55.0, 0.5), Band(70.0, 0.25))
CI_BANDS = (Band(35.0, 1.0), Band(45.0, 0.75), Band(60.0, 0.5), Band(80.0, 0.25))
METRIC = PerBudget(full=asrlab_metric("wer"), ci=asrlab_metric("cer"))
METRIC_NAME = PerBudget(full="WER %", ci="CER %")
BANDS = PerBudget(full=FULL_BANDS, ci=CI_BANDS)

TRANSFORMERS_SYMBOL = "transformers.models.wav2vec2.modeling_wav2vec2"

ASSIGNMENT = Assignment(
    name="wav2vec2",
    tasks=(
        FunctionTask(grade_id="test_vocab", call="build_vocab", cases=cases.vocab_cases,
                     reference=cases.vocab_reference, adapter=source(recipes.vocab_adapter), compare=check_vocab,
                     timeout_s=10.0,
                     hint="characters of all texts except the space, then '|', '[UNK]' and '[PAD]'; ids 0 .. n-1"),
        FunctionTask(grade_id="test_processor", call="make_processor", cases=cases.processor_cases,
                     reference=cases.processor_reference,
                     adapter=source(recipes.processor_adapter, recipes._processor, recipes._outputs),
                     compare=check_processor, forbidden=("asrlab.hf.ctc_processor",), timeout_s=30.0, cpu_s=20.0,
                     hint="Wav2Vec2CTCTokenizer(vocab, unk_token='[UNK]', pad_token='[PAD]', word_delimiter_token='|') "
                          "and Wav2Vec2FeatureExtractor(16 kHz, do_normalize=True, return_attention_mask=True)"),
        FunctionTask(grade_id="test_collator", call="DataCollatorCTCWithPadding", cases=cases.collator_cases,
                     reference=cases.collator_reference, adapter=source(recipes.collator_adapter, recipes._processor),
                     compare=check_collator, timeout_s=30.0, cpu_s=20.0,
                     hint="feature_extractor.pad for the audio, tokenizer.pad for the labels, -100 where the labels' "
                          "attention mask is 0"),
        FunctionTask(grade_id="test_metrics", call="make_compute_metrics", cases=cases.metrics_cases,
                     reference=cases.metrics_reference, adapter=source(recipes.metrics_adapter, recipes._processor),
                     compare=check_metrics, timeout_s=30.0, cpu_s=20.0,
                     hint="argmax over the last axis, batch_decode; labels: -100 -> pad id, group_tokens=False; "
                          "wer(references, hypotheses)"),
        FunctionTask(grade_id="test_model", call="build_model", cases=cases.model_cases,
                     reference=cases.model_reference, adapter=source(recipes.model_adapter, recipes._processor),
                     compare=check_model, timeout_s=60.0, cpu_s=60.0,
                     hint="hf.wav2vec2_for_ctc(start, ctc_loss_reduction='mean', pad_token_id=..., vocab_size=..., "
                          "**config), then model.freeze_feature_encoder()"),
        FunctionTask(grade_id="test_training_args", call="make_training_args", cases=cases.args_cases,
                     reference=dict, adapter=source(recipes.args_adapter), compare=check_args, timeout_s=30.0,
                     cpu_s=20.0,
                     hint="TrainingArguments(output_dir, num_train_epochs=..., learning_rate=..., "
                          "per_device_train_batch_size=..., warmup_steps=..., train_sampling_strategy='group_by_length', "
                          "eval_strategy='epoch', save_strategy='no', report_to='none', fp16 on a GPU only)"),
        FunctionTask(grade_id="test_contrastive", call="contrastive_loss", cases=cases.contrastive_cases,
                     reference=cases.contrastive_reference, adapter=source(recipes.contrastive_adapter),
                     compare=ScalarClose(rtol=1e-4, atol=1e-3),
                     forbidden=(f"{TRANSFORMERS_SYMBOL}.Wav2Vec2ForPreTraining.compute_contrastive_logits",),
                     timeout_s=60.0, cpu_s=60.0,
                     hint="cosine similarity / temperature with the true target at index 0, distractors equal to the "
                          "target at -inf, cross-entropy summed over the masked steps"),
        TrainingTask(grade_id="test_trained_model", checkpoint=MODEL_DIR, model_class="Wav2Vec2ForCTC",
                     evaluate_source=EVALUATE, adapter=LOAD_ADAPTER, test_split=librispeech_test_clean,
                     metric=METRIC, metric_name=METRIC_NAME, bands=BANDS, skip_cells=SKIP_CELLS,
                     timeout_s=300.0, cpu_s=300.0),
    ),
    ci_minutes=10.5,
    limits=Limits(notebook_wall_s=600.0, notebook_cpu_s=600, cell_timeout_s=120.0, memory_mb=4096,
                  disk_mb=256, max_restarts=6),
    # Loaded lazily by transformers: imported here, before the job, like the release's own imports.
    preload=(TRANSFORMERS_SYMBOL, "transformers.trainer"),
)
