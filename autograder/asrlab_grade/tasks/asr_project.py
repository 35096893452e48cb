"""Hidden grading of the ``asr_project`` assignment (instructor side; never released).

A submission is a project folder (see ``/solutions/asr_project/README.md`` for the contract). It is graded by
:mod:`asrlab_grade.project`: transcripts of the hidden test-clean / test-other splits and of an unannounced
folder (new voices, speaking rates x0.8-1.25, noise at 10-25 dB SNR, wav and flac mixed, no transcriptions),
scored with the reference's two band tables re-calibrated for the synthetic corpus and each budget; the
automatic checks cost what the reference's penalties cost (beam search 2, logs 2, augmentations 1) plus 1 each
for calc_metrics.py, CustomDirDataset and the one-batch training run; bonuses LM +0.5, BPE +1, RNN-T/LAS +1.
"""
from __future__ import annotations

from asrlab_grade.jitcache import LIBROSA_PRELOAD
from asrlab_grade.project import ProjectGrading, Row, scaled
from asrlab_grade.task import Assignment, Limits, PerBudget

# The reference's tables (LibriSpeech; thresholds as fractions), lowest row first.
CTC_REFERENCE = (
    Row(1.0), Row(2.0, "test-clean", "cer", 0.50), Row(3.0, "test-clean", "cer", 0.30),
    Row(4.0, "test-clean", "cer", 0.20), Row(5.0, "test-clean", "wer", 0.40), Row(6.0, "test-clean", "wer", 0.30),
    Row(7.0, "test-clean", "wer", 0.20), Row(8.0, "test-other", "wer", 0.30), Row(8.5, "test-other", "wer", 0.25),
    Row(9.0, "test-other", "wer", 0.20), Row(9.5, "test-other", "wer", 0.15), Row(10.0, "test-other", "wer", 0.10))
SEQ_REFERENCE = (
    Row(1.0), Row(2.0, "test-clean", "cer", 0.50), Row(3.0, "test-clean", "cer", 0.30),
    Row(4.0, "test-clean", "cer", 0.10), Row(5.0, "test-clean", "wer", 0.30), Row(6.0, "test-clean", "wer", 0.20),
    Row(7.0, "test-clean", "wer", 0.15), Row(8.0, "test-other", "wer", 0.25), Row(8.5, "test-other", "wer", 0.20),
    Row(9.0, "test-other", "wer", 0.15), Row(9.5, "test-other", "wer", 0.12), Row(10.0, "test-other", "wer", 0.08))

# Re-calibration for the synthetic corpus: thresholds times these factors (test-clean, test-other). full: the
# reference's own thresholds (the 2-hour corpus on a GPU is about as hard for its model as LibriSpeech's is for
# the reference's). ci: a BiLSTM-CTC trained 8 epochs on the 1-hour corpus reaches test-clean WER 0.28 / CER 0.07
# greedy (ctc_training's figures); the factors put such a model with the course LM at band 6-7.
SCALE = PerBudget(full=(1.0, 1.0), ci=(1.5, 1.5))
CTC_BANDS = PerBudget(full=scaled(CTC_REFERENCE, *SCALE.full), ci=scaled(CTC_REFERENCE, *SCALE.ci))
SEQ_BANDS = PerBudget(full=scaled(SEQ_REFERENCE, *SCALE.full), ci=scaled(SEQ_REFERENCE, *SCALE.ci))

# The template's train.py (Hydra): one batch of the grader's six dev utterances, 30 steps, no LM.
TRAIN_OVERRIDES = ("data.root={corpus}", "data.overfit_batch=true", "trainer.max_steps={steps}",
                   "trainer.epochs={steps}", "trainer.print_every=1", "trainer.max_eval_batches=1", "trainer.samples=1",
                   "lm.order=0", "device=cpu", "checkpoint_dir=short_run/checkpoint", "log_dir=short_run/logs")

PROJECT = ProjectGrading(
    ctc_bands=CTC_BANDS, seq_bands=SEQ_BANDS,
    # ci figures of the solution (validate, 2 cores): test-clean WER 0.0845 beam+LM (0.189 without the LM), greedy
    # and beam on both hidden splits 0.427 / 0.240, band 8 (test-other WER <= 0.45) + LM 0.5; full: not measured here.
    # Scores of the ci solution in validate: 8.5, 9.5 and 9 trained on two threads, 7.5 on one (test-clean WER
    # 0.161 beam+LM, band 7: test-other missed 0.45); each run also draws new hidden splits. validate requires
    # band 7 (test-clean WER <= 0.30 in ci, reached with a wide margin every time), the band this table was
    # calibrated to put a ci model at, and every automatic check passed.
    char_wer=PerBudget(full=0.10, ci=0.085),     # the character solution's test-clean WER (BPE bonus)
    expected=PerBudget(full=8.0, ci=7.0),        # what validate requires of the solution
    gap=PerBudget(full=0.25, ci=0.35),
    unannounced=PerBudget(full={"n": 40, "audio_format": "mixed", "rate_scale": (0.8, 1.25), "snr_db": (10.0, 25.0)},
                          ci={"n": 24, "audio_format": "mixed", "rate_scale": (0.8, 1.25), "snr_db": (10.0, 25.0)}),
    train_overrides=TRAIN_OVERRIDES,
)

ASSIGNMENT = Assignment(
    name="asr_project",
    tasks=(),
    project=PROJECT,
    ci_minutes=12.0,
    limits=Limits(notebook_wall_s=3600.0, notebook_cpu_s=3600, cell_timeout_s=60.0, memory_mb=6144, disk_mb=1024,
                  max_restarts=10),
    preload=("torch", "soundfile", "hydra", "omegaconf", "safetensors.torch", "asrlab.metrics", "asrlab.features",
             "asrlab.train", "tensorboard.backend.event_processing.event_accumulator", *LIBROSA_PRELOAD),
)
