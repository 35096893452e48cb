"""asrlab.train: overfitting, resume, determinism, schedules, evaluation, objectives and guards."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from asrlab.data import PadCollate
from asrlab.metrics import cer, wer
from asrlab.models import CTCModel, MultiTaskCTC, RNNTModel, load_model
from asrlab.text import CharTokenizer
from asrlab.train import (
    FeatureFrontend, MultiTaskObjective, TrainConfig, Trainer, make_loader, make_scheduler, plot_history,
    seed_everything,
)

FEAT_DIM = 16
TOK = CharTokenizer()
NUM_ITEMS = 8
BATCH = 4


pytestmark = pytest.mark.usefixtures("one_torch_thread")


class TinySet(torch.utils.data.Dataset):
    """Random (T, 16) features with random character labels, plus HVB-style labels for multi-task tests."""

    def __init__(self, num: int = NUM_ITEMS, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.items = []
        for _ in range(num):
            frames = int(torch.randint(18, 30, (1,), generator=g))
            labels = int(torch.randint(3, 7, (1,), generator=g))
            self.items.append({
                "features": torch.randn(frames, FEAT_DIM, generator=g),
                "tokens": torch.randint(2, 28, (labels,), generator=g),  # letters only
                "task_type": torch.randint(0, 3, (), generator=g),
                "dialog_acts": torch.randint(0, 2, (4,), generator=g).float(),
                "sentiment": torch.softmax(torch.randn(3, generator=g), -1),
            })

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        return self.items[i]

    def durations(self) -> list[float]:
        return [float(item["features"].shape[0]) for item in self.items]


def tiny_ctc(dropout: float = 0.0, seed: int = 0) -> CTCModel:
    torch.manual_seed(seed)
    return CTCModel(FEAT_DIM, len(TOK), TOK.blank, "bilstm", hidden_dim=32, num_layers=1, dropout=dropout, subsampling=1)


def trainer_for(model: nn.Module, config: TrainConfig | None = None, dataset: TinySet | None = None, **kwargs) -> Trainer:
    dataset = dataset or TinySet()
    config = config or TrainConfig(epochs=2, lr=3e-3, progress=False, log_every=1)
    return Trainer(model, TOK, make_loader(dataset, batch_size=BATCH, seed=config.seed),
                   make_loader(dataset, batch_size=BATCH, shuffle=False), config,
                   frontend=kwargs.pop("frontend", FeatureFrontend(None, normalize="none")), **kwargs)


def test_overfit_one_batch_drives_the_loss_down() -> None:
    trainer = trainer_for(tiny_ctc())
    losses = trainer.overfit_batch(steps=40, lr=2e-2)
    assert len(losses) == 40
    # near 0 from ~16: a check that can fail (wrong blank, misaligned labels or lengths would stall it)
    assert losses[-1] < 0.05 * losses[0] and losses[-1] < 0.5


def test_training_lowers_the_loss_and_records_history() -> None:
    trainer = trainer_for(tiny_ctc(), TrainConfig(epochs=3, lr=1e-2, scheduler="constant", progress=False, log_every=1))
    history = trainer.fit()
    _, train_losses = history.series("train", "loss")
    steps, val_cer = history.series("val", "cer")
    assert len(train_losses) == 3 * 2 and len(val_cer) == 3  # 2 batches per epoch, validation per epoch
    assert train_losses[-1] < train_losses[0]
    assert steps == [2, 4, 6] and trainer.step == 6 and trainer.epoch == 3
    fig = plot_history(history, show=False)
    assert len(fig.axes) == 2


def test_same_seed_same_run_different_seed_different_run() -> None:
    def run(seed: int) -> list[float]:
        seed_everything(seed)
        model = CTCModel(FEAT_DIM, len(TOK), TOK.blank, "bilstm", hidden_dim=16, num_layers=2, dropout=0.3, subsampling=1)
        trainer = trainer_for(model, TrainConfig(epochs=1, lr=3e-3, seed=seed, progress=False, log_every=1))
        return trainer.fit().series("train", "loss")[1]

    first, second, other = run(1), run(1), run(2)
    assert first == second
    assert first != other


def test_resume_continues_with_the_identical_next_step(tmp_path) -> None:
    """Dropout and SpecAugment included: a resumed run sees the same batches and random masks."""
    from asrlab.features import SpecAugment

    def make() -> Trainer:
        frontend = FeatureFrontend(None, normalize="utterance", spec_augment=SpecAugment(1, 4, 1, 5))
        config = TrainConfig(epochs=2, lr=3e-3, scheduler="onecycle", progress=False, log_every=1,
                             checkpoint_dir=str(tmp_path / "ckpt"))
        return trainer_for(tiny_ctc(dropout=0.3, seed=len(tmp_path.parts)), config, TinySet(12), frontend=frontend)

    original = make()
    original.fit(steps=4)  # mid-epoch 2 (3 batches per epoch)
    path = original.save_checkpoint(tmp_path / "mid.pt")
    original.fit(steps=2)
    expected = original.history.series("train", "loss")[1][-2:]

    resumed = make()
    resumed.model.apply(lambda m: m.reset_parameters() if hasattr(m, "reset_parameters") else None)
    resumed.load_checkpoint(path)
    assert (resumed.step, resumed.epoch, resumed.batch_in_epoch) == (4, 1, 1)
    resumed.fit(steps=2)
    assert resumed.history.series("train", "loss")[1][-2:] == expected
    assert resumed.optimizer.param_groups[0]["lr"] == original.optimizer.param_groups[0]["lr"]

    raw = torch.load(path, weights_only=True)  # the training checkpoint is plain data too
    assert {"config", "state_dict", "train_state"} <= set(raw)
    assert isinstance(load_model(path), CTCModel)
    original.fit()  # finishing writes last.pt (and best.pt at the best validation CER)
    assert (tmp_path / "ckpt" / "last.pt").is_file() and (tmp_path / "ckpt" / "best.pt").is_file()


def _lrs(kind: str, steps: int = 100, **kwargs) -> list[float]:
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = make_scheduler(optimizer, kind, steps, **kwargs)
    lrs = []
    for _ in range(steps):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return lrs


def test_scheduler_shapes() -> None:
    onecycle = _lrs("onecycle")
    peak = max(range(100), key=onecycle.__getitem__)
    assert onecycle[0] == pytest.approx(1.0 / 5) and onecycle[peak] == pytest.approx(1.0, abs=1e-3)
    assert 25 <= peak <= 35  # pct_start 0.3
    assert onecycle[-1] < 0.05 and onecycle[-1] == min(onecycle)
    warm = _lrs("warmup_linear", warmup_steps=10, final_lr_ratio=0.1)
    assert warm[:10] == pytest.approx([(i + 1) / 10 for i in range(10)])
    diffs = [b - a for a, b in zip(warm[10:], warm[11:])]
    assert all(d < 0 for d in diffs) and max(diffs) == pytest.approx(min(diffs))  # linear decay
    assert warm[-1] == pytest.approx(0.1 + 0.9 / 90)
    assert _lrs("constant") == [1.0] * 100
    with pytest.raises(ValueError, match="scheduler must be one of"):
        _lrs("cosine")


class OracleCTC(nn.Module):
    """Reads one-hot "features" as CTC scores: a model whose output we control exactly."""

    config = {"arch": "ctc", "input_dim": len(TOK)}
    blank, num_classes = TOK.blank, len(TOK)

    def __init__(self) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor):
        return (10.0 * feats + self.dummy).log_softmax(-1), lengths


def one_hot_item(spoken: str, text: str) -> dict:
    """Frames spelling ``spoken`` (each symbol, then a blank); targets are ``text``."""
    frames = []
    for idx in TOK.encode(spoken):
        frames += [idx, TOK.blank]
    return {"features": nn.functional.one_hot(torch.tensor(frames), len(TOK)).float(),
            "tokens": torch.tensor(TOK.encode(text))}


def test_evaluate_computes_corpus_cer_and_wer() -> None:
    pairs = [("the cat sat", "the cat sat"), ("a dog ran far", "a dog ran fat"), ("hello world", "hello word")]
    items = [one_hot_item(spoken=hyp, text=ref) for ref, hyp in pairs]
    loader = torch.utils.data.DataLoader(items, batch_size=2, collate_fn=PadCollate())
    trainer = Trainer(OracleCTC(), TOK, loader, config=TrainConfig(progress=False),
                      frontend=FeatureFrontend(None, normalize="none"))
    refs, hyps = [p[0] for p in pairs], [p[1] for p in pairs]
    for method in ("greedy", "beam"):
        result = trainer.evaluate(loader, decoder=method, beam_size=4)
        assert result.hypotheses == hyps and result.references == refs
        assert result["cer"] == pytest.approx(cer(refs, hyps)) and result["cer"] > 0
        assert result["wer"] == pytest.approx(wer(refs, hyps)) and result["wer"] == pytest.approx(2 / 9)
        assert math.isfinite(result["loss"])


def test_evaluate_takes_a_decoder_object_with_an_lm() -> None:
    from asrlab.decoding import BeamDecoder
    from asrlab.lm import estimate_kneser_ney

    # the acoustics lean to "a dog ran fat" (t one nat above r); a word LM that knows "far" spells it right
    item = one_hot_item(spoken="a dog ran fat", text="a dog ran far")
    t_frame = -2  # the last symbol's frame (a blank follows it)
    item["features"][t_frame] = 0.55 * item["features"][t_frame] + 0.45 * nn.functional.one_hot(
        torch.tensor(TOK.encode("r")[0]), len(TOK)).float()
    items = [item]
    loader = torch.utils.data.DataLoader(items, batch_size=1, collate_fn=PadCollate())
    trainer = Trainer(OracleCTC(), TOK, loader, config=TrainConfig(progress=False),
                      frontend=FeatureFrontend(None, normalize="none"))
    assert trainer.evaluate(loader).hypotheses == ["a dog ran fat"]
    lm = estimate_kneser_ney(["a dog ran far", "the dog ran far"] * 3, order=3)
    fused = BeamDecoder(TOK.blank, TOK.symbols, beam_size=16, lm=lm, alpha=2.0, beta=0.0)
    assert trainer.evaluate(loader, decoder=fused).hypotheses == ["a dog ran far"]


def test_rnnt_objective_trains_and_decodes() -> None:
    torch.manual_seed(0)
    model = RNNTModel(FEAT_DIM, len(TOK), TOK.blank, encoder_dim=16, encoder_layers=1, predictor_dim=16,
                      joint_dim=16, dropout=0.0, subsampling=1)
    trainer = trainer_for(model)
    losses = trainer.overfit_batch(steps=30, lr=1e-2)
    assert losses[-1] < 0.5 * losses[0]
    for method in ("greedy", "beam"):
        result = trainer.evaluate(trainer.val_loader, decoder=method, beam_size=2)
        assert 0.0 <= result["cer"] and len(result.hypotheses) == NUM_ITEMS


def test_multitask_objective_runs_a_step_and_reports_head_metrics() -> None:
    torch.manual_seed(0)
    vocab = TOK  # any tokenizer works; HVB uses HVBVocab (blank 0)
    model = MultiTaskCTC(FEAT_DIM, len(vocab), vocab.blank, num_task_types=3, num_dialog_acts=4, hidden_dim=16,
                         num_layers=1, dropout=0.0)
    trainer = trainer_for(model, objective=MultiTaskObjective({"sentiment": 0.5}))
    batch = next(iter(trainer.train_loader))
    before = [p.detach().clone() for p in model.heads.parameters()]
    stats = trainer.train_step(batch)
    assert {"asr_loss", "task_type_loss", "dialog_acts_loss", "sentiment_loss", "task_type_acc"} <= set(stats)
    assert stats["loss"] == pytest.approx(stats["asr_loss"] + stats["task_type_loss"] + stats["dialog_acts_loss"]
                                          + 0.5 * stats["sentiment_loss"], rel=1e-5)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.heads.parameters()))
    assert 0.0 <= trainer.evaluate(trainer.val_loader)["dialog_acts_f1"] <= 1.0
    with pytest.raises(ValueError, match="unknown task weight"):
        MultiTaskObjective({"emotion": 1.0})


def test_blank_and_vocabulary_mismatch_are_caught() -> None:
    with pytest.raises(ValueError, match="blank index mismatch"):
        trainer_for(CTCModel(FEAT_DIM, len(TOK), 0, hidden_dim=8, num_layers=1))
    with pytest.raises(ValueError, match="output classes"):
        trainer_for(CTCModel(FEAT_DIM, 48, TOK.blank, hidden_dim=8, num_layers=1))


class Stretching(OracleCTC):
    def forward(self, feats, lengths):
        return feats.log_softmax(-1), lengths + 1  # claims more frames than it was given


class Exploding(OracleCTC):
    def forward(self, feats, lengths):
        return (feats * float("nan") + self.dummy).log_softmax(-1), lengths


@pytest.mark.parametrize("model, error, message", [
    (Stretching(), ValueError, "exceed|only"),
    (Exploding(), FloatingPointError, "Lower the learning rate"),
])
def test_misbehaving_models_stop_with_a_clear_message(model, error, message) -> None:
    item = one_hot_item("abc", "abc")
    loader = torch.utils.data.DataLoader([item, item], batch_size=2, collate_fn=PadCollate())
    trainer = Trainer(model, TOK, loader, config=TrainConfig(progress=False), frontend=FeatureFrontend(None, normalize="none"))
    with pytest.raises(error, match=message):
        trainer.train_step(next(iter(loader)))


def test_cpu_runs_in_float32_and_fp16_needs_a_gpu() -> None:
    from asrlab.train import resolve_precision

    assert resolve_precision("auto", torch.device("cpu")).dtype is None
    assert not resolve_precision("auto", torch.device("cpu")).use_scaler
    with pytest.raises(ValueError, match="CUDA"):
        resolve_precision("fp16", torch.device("cpu"))


def test_tensorboard_logging_offline(tmp_path) -> None:
    config = TrainConfig(epochs=1, lr=3e-3, progress=True, log_every=1, log_dir=str(tmp_path / "runs"))
    trainer_for(tiny_ctc(), config).fit()
    assert list((tmp_path / "runs").glob("events.out.tfevents.*"))


def test_wandb_requested_but_missing_is_explained(monkeypatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    config = TrainConfig(epochs=1, progress=False, wandb_project="asr")
    with pytest.raises(ImportError, match="pip install wandb"):
        trainer_for(tiny_ctc(), config).fit()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="mixed precision needs a CUDA GPU")
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_step_on_gpu(precision: str) -> None:
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bfloat16")
    config = TrainConfig(epochs=1, lr=1e-2, precision=precision, progress=False, log_every=1)
    trainer = trainer_for(tiny_ctc(), config, device="cuda")
    assert trainer.scaler.is_enabled() == (precision == "fp16")
    losses = trainer.overfit_batch(steps=30, lr=1e-2)
    assert losses[-1] < 0.5 * losses[0]
    assert math.isfinite(trainer.train_step(next(iter(trainer.train_loader)))["loss"])


def test_loaders_cover_every_item_once_and_reshuffle_per_epoch() -> None:
    dataset = TinySet(10)
    for loader in (make_loader(dataset, batch_size=3, seed=1), make_loader(dataset, batch_size=3, bucketing=False, seed=1)):
        sampler = loader.batch_sampler
        sampler.set_epoch(0)
        first = [list(b) for b in sampler]
        assert sorted(i for b in first for i in b) == list(range(10))
        assert [list(b) for b in sampler] == first  # same epoch, same batches
        sampler.set_epoch(1)
        assert [list(b) for b in sampler] != first
    bucketed = make_loader(dataset, batch_size=3, shuffle=False)
    spans = [max(dataset.durations()[i] for i in b) - min(dataset.durations()[i] for i in b) for b in bucketed.batch_sampler]
    random = make_loader(dataset, batch_size=3, bucketing=False, seed=0)
    random_spans = [max(dataset.durations()[i] for i in b) - min(dataset.durations()[i] for i in b) for b in random.batch_sampler]
    assert sum(spans) < sum(random_spans)  # bucketing groups similar lengths
    with pytest.raises(ValueError, match="batch_size"):
        make_loader(dataset, max_seconds=50.0, bucketing=False)
