"""Hidden grading tasks of the ``ctc_training`` assignment (instructor side; never released).

Five tasks, one per graded test cell of ``solutions/ctc_training/ctc_training.ipynb``:

* ``test_normalize`` -- ``normalize_features`` compared with :func:`asrlab.features.utterance_cmvn` on padded
  batches, some with non-zero padding, a length-1 and a length-0 utterance.
* ``test_spec_augment`` -- SpecAugment has no single right answer, so the grader checks the properties of the
  masks over several generator seeds: masked cells hold ``mask_value``, every masked cell belongs to a whole frame
  or a whole band of the valid region, the masked frames (bands) can be covered by ``time_masks``
  (``freq_masks``) spans of at most the allowed width, padding and the input are untouched, the same generator
  state gives the same masks, and the average masked width is close to that of :class:`asrlab.features.SpecAugment`.
* ``test_encoder`` -- ``RecurrentEncoder`` loaded with weights drawn by the grader and compared, on the valid
  frames, with :class:`asrlab.models.LSTMEncoder` holding the same weights (its parameter names are the same);
  the halves are ordered [forward, backward] as the notebook says (the next layer's weights depend on it).
* ``test_model`` -- ``CTCNet`` for every encoder and subsampling factor: output shape, integer output lengths equal to
  :meth:`asrlab.models.ConvSubsampling.output_lengths`, log-probabilities normalized over the classes, and (for one
  convolution stage or none) the same outputs for an utterance in a padded batch and alone.
* ``test_trained_model`` -- the submitted ``ctc_bilstm.pt`` transcribes the hidden test split
  (:func:`asrlab_grade.hidden.librispeech_test`) with the public greedy recipe; WER bands 35 / 40 / 50 / 60 %.

Hidden inputs and the references that are more than a library call: ``asrlab_grade/cases/ctc_training.py``;
the plausible wrong answers these cases catch: ``autograder/tests/test_ctc_training_assignment.py``.
"""
from __future__ import annotations

from asrlab_grade.cases import ctc_training as cases
from asrlab_grade.cases.common import librispeech_test_clean
from asrlab_grade.compare import ArrayClose
from asrlab_grade.compare_asr import check_ctc_net, check_recurrent_encoder
from asrlab_grade.compare_augment import check_masks
from asrlab_grade.jitcache import LIBROSA_PRELOAD
from asrlab_grade.recipes import ctc_training as recipes
from asrlab_grade.recipes import source
from asrlab_grade.task import Assignment, Band, FunctionTask, Limits, TrainingTask, asrlab_metric, library

# The training cells and every cell that needs the corpus or the trained models: not run while grading.
SKIP_CELLS = ("load_data", "pipeline_figure", "train_models", "evaluate_models", "compare", "baseline", "alignments")

# Library functions that would answer a task: a call to one scores that task 0.
NORMALIZE_FORBIDDEN = ("asrlab.features.utterance_cmvn", "asrlab.features.GlobalCMVN.forward")
SPEC_AUGMENT_FORBIDDEN = ("asrlab.features.SpecAugment.forward", "asrlab.features._mask_spans")
ENCODER_FORBIDDEN = ("asrlab.models.encoders.LSTMEncoder.forward", "asrlab.models.encoders.reverse_padded")
MODEL_FORBIDDEN = ("asrlab.models.subsampling.ConvSubsampling.output_lengths",
                   "asrlab.models.subsampling._stage_length", "asrlab.models.ctc.CTCModel.forward",
                   "asrlab.models.ctc.CTCModel.encode")

# The public recipe: the same source as the notebook's `evaluate_recipe` cell (a test keeps them equal).
EVALUATE = source(recipes.evaluate, name="evaluate")

WER_BANDS = (Band(35.0, 1.0), Band(40.0, 0.75), Band(50.0, 0.5), Band(60.0, 0.25))

ASSIGNMENT = Assignment(
    name="ctc_training",
    tasks=(
        FunctionTask(grade_id="test_normalize", call="normalize_features", cases=cases.normalize_cases,
                     reference=library("asrlab.features.utterance_cmvn", tensors=True),
                     adapter=source(recipes.normalize_adapter),
                     compare=ArrayClose(rtol=1e-4, atol=1e-4, dtype="kind", container="either"),
                     forbidden=NORMALIZE_FORBIDDEN,
                     timeout_s=20.0, cpu_s=10.0,
                     hint="statistics over the valid frames only (dim=1), population variance, padded frames 0"),
        FunctionTask(grade_id="test_spec_augment", call="spec_augment", cases=cases.spec_augment_cases,
                     reference=cases.spec_augment_reference, adapter=source(recipes.spec_augment_adapter),
                     compare=check_masks, forbidden=SPEC_AUGMENT_FORBIDDEN, timeout_s=30.0, cpu_s=20.0,
                     hint="per utterance: width uniform in 0..max width (time: at most the utterance's length), start "
                          "uniform so that the mask fits; all draws from `generator`"),
        FunctionTask(grade_id="test_encoder", call="RecurrentEncoder", cases=cases.encoder_cases,
                     reference=cases.encoder_reference, adapter=source(recipes.encoder_adapter),
                     compare=check_recurrent_encoder, forbidden=ENCODER_FORBIDDEN, timeout_s=30.0, cpu_s=20.0,
                     hint="the backward LSTM reads every utterance reversed within its own length, and its output is "
                          "reversed back before the concatenation [forward, backward]"),
        FunctionTask(grade_id="test_model", call="CTCNet", cases=cases.model_cases, reference=cases.model_reference,
                     adapter=source(recipes.model_adapter), compare=check_ctc_net, forbidden=MODEL_FORBIDDEN,
                     timeout_s=60.0, cpu_s=40.0,
                     hint="conv -> (B, T', C*F') with time moved next to the batch -> encoder(x, output lengths) -> "
                          "classifier -> log_softmax(dim=-1)"),
        TrainingTask(grade_id="test_trained_model", checkpoint="ctc_bilstm.pt", model_class="CTCNet",
                     evaluate_source=EVALUATE, test_split=librispeech_test_clean, metric=asrlab_metric("wer"),
                     metric_name="WER %", bands=WER_BANDS, skip_cells=SKIP_CELLS, timeout_s=300.0, cpu_s=300.0),
    ),
    ci_minutes=5.5,
    limits=Limits(notebook_wall_s=600.0, notebook_cpu_s=600, cell_timeout_s=120.0, memory_mb=4096,
                  disk_mb=256, max_restarts=6),
    preload=LIBROSA_PRELOAD,
)
