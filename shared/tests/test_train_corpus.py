"""asrlab.train end to end on the tiny synthetic corpora: waveforms -> device features -> step -> CER/WER."""
from __future__ import annotations

import pytest
import torch

from asrlab.data import HarperValleyBankMTL, LibriSpeech
from asrlab.features import HVB_FEATURES, LogMel, SpecAugment
from asrlab.models import CTCModel, MultiTaskCTC
from asrlab.text import CharTokenizer
from asrlab.train import FeatureFrontend, TrainConfig, Trainer, make_loader

MAX_SECONDS = 20.0  # padded audio per batch: a few utterances of the tiny corpus


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_librispeech_bucketed_training_step_and_evaluation(synth_librispeech) -> None:
    tok = CharTokenizer()
    train = LibriSpeech(synth_librispeech, "train-clean", tokenizer=tok)
    dev = LibriSpeech(synth_librispeech, "dev-clean", tokenizer=tok)
    loader = make_loader(train, max_seconds=MAX_SECONDS, seed=0)
    durations = train.durations()
    for batch_ids in loader.batch_sampler:  # bucketing: each batch's padded audio stays within the budget
        assert len(batch_ids) * max(durations[i] for i in batch_ids) <= MAX_SECONDS or len(batch_ids) == 1
    torch.manual_seed(0)
    model = CTCModel(80, len(tok), tok.blank, "bilstm", hidden_dim=16, num_layers=1, subsampling=4, conv_channels=4)
    frontend = FeatureFrontend(LogMel(), spec_augment=SpecAugment(time_width=20))
    trainer = Trainer(model, tok, loader, make_loader(dev, batch_size=8, shuffle=False),
                      TrainConfig(epochs=1, max_steps=2, lr=1e-3, progress=False, log_every=1, max_eval_batches=1),
                      frontend=frontend)
    batch = next(iter(loader))
    feats, lengths = trainer.frontend(batch, trainer.device)
    assert feats.shape[2] == 80 and int(lengths.max()) == feats.shape[1]
    history = trainer.fit()
    assert trainer.step == 2 and len(history.series("train", "loss")[1]) == 2
    cer = history.last("val", "cer")
    assert cer is not None and 0.0 <= cer  # an untrained model: mostly deletions, but a real number
    result = trainer.evaluate(trainer.val_loader, max_batches=1)
    assert len(result.references) == min(8, len(dev)) and all(r == r.lower() for r in result.references)


def test_hvb_multitask_step(synth_hvb) -> None:
    train = HarperValleyBankMTL(synth_hvb, "train")
    vocab = train.vocab
    torch.manual_seed(0)
    model = MultiTaskCTC(HVB_FEATURES["n_mels"], vocab.num_class, vocab.blank, train.task_type_num_class,
                         train.dialog_acts_num_class, hidden_dim=16, num_layers=1, subsampling=2, conv_channels=4)
    trainer = Trainer(model, vocab, make_loader(train, batch_size=4, seed=0), config=TrainConfig(progress=False),
                      frontend=FeatureFrontend(LogMel(**HVB_FEATURES, log_scale="db", frame_normalize=True)))
    stats = trainer.train_step(next(iter(trainer.train_loader)))
    assert all(torch.isfinite(torch.tensor(v)) for v in stats.values())
    assert 0.0 <= stats["task_type_acc"] <= 1.0 and stats["asr_loss"] > 0


@pytest.mark.slow
def test_bilstm_ctc_memorizes_real_utterances(synth_librispeech) -> None:
    """Full version of the overfit check on speech: greedy CER of a memorized batch falls below 0.2."""
    from torch.utils.data import DataLoader, Subset

    from asrlab.data import PadCollate

    tok = CharTokenizer()
    train = Subset(LibriSpeech(synth_librispeech, "train-clean", tokenizer=tok), range(2))
    loader = DataLoader(train, batch_size=2, collate_fn=PadCollate())
    torch.manual_seed(0)
    model = CTCModel(80, len(tok), tok.blank, "bilstm", hidden_dim=64, num_layers=1, dropout=0.0, subsampling=2,
                     conv_channels=8)
    trainer = Trainer(model, tok, loader, loader, TrainConfig(progress=False))
    losses = trainer.overfit_batch(steps=200, lr=5e-3)
    assert losses[-1] < 0.1 * losses[0]
    assert trainer.evaluate(loader)["cer"] < 0.2
