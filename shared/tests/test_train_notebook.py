"""The notebook helpers of asrlab.train: train_or_load (train once and save, then load), print_history and
plot_histories."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from asrlab.train import History, plot_histories, print_history, train_or_load
from asrlab.train.cache import read_checkpoint


class Tiny(nn.Module):
    def __init__(self, width: int = 3) -> None:
        super().__init__()
        self.config = {"width": width}
        self.linear = nn.Linear(width, 2)


class CountingFit:
    """A stand-in for a Trainer: moves the weights and records one validation row per call."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, model: nn.Module) -> History:
        self.calls += 1
        with torch.no_grad():
            model.linear.bias.fill_(float(self.calls))
        history = History()
        history.add("val", step=10, epoch=1, loss=0.5, cer=0.25)
        return history


def test_the_first_run_trains_and_saves_the_second_loads(tmp_path, capsys):
    path, fit = tmp_path / "model.pt", CountingFit()
    first = train_or_load(path, Tiny, fit, name="tiny")
    assert fit.calls == 1 and not first.loaded and first.seconds >= 0 and not first.model.training
    assert "tiny: trained in" in capsys.readouterr().out
    saved = read_checkpoint(path)
    assert saved["config"] == {"width": 3} and saved["history"] == first.history.state_dict()
    assert all(t.device.type == "cpu" for t in saved["state_dict"].values())

    second = train_or_load(path, Tiny, fit, name="tiny")
    assert fit.calls == 1 and second.loaded and second.seconds == pytest.approx(first.seconds)
    assert torch.equal(second.model.linear.bias, torch.ones(2))
    assert second.history.records == first.history.records
    assert "tiny: loaded" in capsys.readouterr().out


def test_retrain_trains_again_and_overwrites(tmp_path):
    path, fit = tmp_path / "model.pt", CountingFit()
    train_or_load(path, Tiny, fit)
    run = train_or_load(path, Tiny, fit, retrain=True)
    assert fit.calls == 2 and not run.loaded
    assert torch.equal(read_checkpoint(path)["state_dict"]["linear.bias"], torch.full((2,), 2.0))


def test_same_config_trains_again_when_the_settings_changed(tmp_path, capsys):
    path, fit = tmp_path / "model.pt", CountingFit()
    train_or_load(path, Tiny, fit, same_config=True)
    assert train_or_load(path, Tiny, fit, same_config=True).loaded
    run = train_or_load(path, lambda: Tiny(5), fit, same_config=True)
    assert fit.calls == 2 and not run.loaded and read_checkpoint(path)["config"] == {"width": 5}
    assert "holds another configuration" in capsys.readouterr().out


def test_rebuild_loads_a_checkpoint_made_with_other_settings(tmp_path):
    path, fit = tmp_path / "model.pt", CountingFit()
    train_or_load(path, lambda: Tiny(5), fit)
    run = train_or_load(path, Tiny, fit, rebuild=lambda config: Tiny(**config))
    assert fit.calls == 1 and run.loaded and run.model.config == {"width": 5}


def test_the_seed_fixes_the_initial_weights_of_a_trained_model(tmp_path):
    seen = []

    def fit(model: nn.Module) -> History:
        seen.append(model.linear.weight.detach().clone())
        return History()

    torch.manual_seed(123)
    train_or_load(tmp_path / "a.pt", Tiny, fit, seed=0)
    torch.manual_seed(456)
    train_or_load(tmp_path / "b.pt", Tiny, fit, seed=0)
    assert torch.equal(seen[0], seen[1])


def test_a_file_that_is_not_a_checkpoint_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(ValueError, match="delete it and run the training cell again"):
        train_or_load(path, Tiny, CountingFit())


def test_a_model_without_a_config_is_refused(tmp_path):
    with pytest.raises(TypeError, match="no `config` dict"):
        train_or_load(tmp_path / "m.pt", lambda: nn.Linear(2, 2), CountingFit())


def _history(cers):
    history = History()
    for epoch, value in enumerate(cers, start=1):
        history.add("train", step=10 * epoch - 5, epoch=epoch, loss=2.0 / epoch)
        history.add("val", step=10 * epoch, epoch=epoch, loss=1.0 / epoch, cer=value, wer=2 * value, f1=0.5)
    return history


def test_print_history_prints_one_line_per_validation_epoch(capsys):
    print_history(_history([0.5, 0.25]))
    assert capsys.readouterr().out.splitlines() == ["  epoch  1  loss 1.000  CER 0.500  WER 1.000",
                                                    "  epoch  2  loss 0.500  CER 0.250  WER 0.500"]
    print_history(_history([0.5]), {"dialog acts F1": "f1", "missing": "nothing"}, prefix="mtl ")
    assert capsys.readouterr().out == "mtl epoch  1  dialog acts F1 0.500\n"


def test_plot_histories_draws_one_line_per_run_in_each_panel():
    import matplotlib

    matplotlib.use("Agg")
    fig = plot_histories({"lstm": _history([0.6, 0.4, 0.3]), "bilstm": _history([0.5, 0.2])}, metric="cer",
                         show=False)
    loss, metric = fig.axes
    assert [line.get_label() for line in loss.lines] == ["lstm", "bilstm"] and loss.get_yscale() == "log"
    assert [list(line.get_ydata()) for line in metric.lines] == [[0.6, 0.4, 0.3], [0.5, 0.2]]
    assert "CER" in metric.get_ylabel()
