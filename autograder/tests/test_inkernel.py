"""check_task: the hidden tests of nbgrader test cells grade with the task module's own cases, in the kernel."""
from __future__ import annotations

import os

import pytest
import torch
from torch import nn

from asrlab_grade.inkernel import check_task


def _pool(hidden, lengths):
    valid = (torch.arange(hidden.shape[1])[None, :] < lengths[:, None]).to(hidden.dtype)[..., None]
    return (hidden * valid).sum(1) / valid.sum(1).clamp(min=1.0)


@pytest.fixture(autouse=True)
def scratch(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def test_a_correct_function_passes_every_hidden_case():
    check_task("e2e_mtl", "test_pool", {"masked_mean_pool": _pool})
    check_task("e2e_mtl", "test_combine_losses",
               {"combine_losses": lambda losses, weights: sum(w * losses[t] for t, w in weights.items())})


def test_a_wrong_function_fails_with_the_task_and_the_first_failing_case():
    with pytest.raises(AssertionError, match=r"test_pool: \d+ of \d+ hidden cases passed; case \d+"):
        check_task("e2e_mtl", "test_pool", {"masked_mean_pool": lambda hidden, lengths: hidden.mean(1)})
    with pytest.raises(AssertionError, match="test_combine_losses: .* hidden cases passed"):
        check_task("e2e_mtl", "test_combine_losses",   # a mean instead of the weighted sum
                   {"combine_losses": lambda losses, weights: sum(w * losses[t] for t, w in weights.items()) / 4})


def test_cases_run_in_a_scratch_folder(tmp_path):
    seen = []

    def pool(hidden, lengths):
        seen.append(os.getcwd())
        return _pool(hidden, lengths)

    check_task("e2e_mtl", "test_pool", {"masked_mean_pool": pool})
    assert seen and str(tmp_path) not in seen[0] and os.getcwd() == str(tmp_path)


class CTCEncoderDecoder(nn.Module):
    def __init__(self, input_dim: int = 4, num_class: int = 3):
        super().__init__()
        self.linear = nn.Linear(input_dim, num_class)


def test_a_training_task_loads_the_checkpoint_as_the_grader_does():
    model = CTCEncoderDecoder()
    ns = {"CTCEncoderDecoder": CTCEncoderDecoder}
    with pytest.raises(FileNotFoundError, match="ctc_model.pt"):
        check_task("e2e_mtl", "test_trained_ctc", ns)
    torch.save({"config": {"input_dim": 4, "num_class": 3}, "state_dict": model.state_dict()}, "ctc_model.pt")
    check_task("e2e_mtl", "test_trained_ctc", ns)
    torch.save({"config": {"input_dim": 4, "num_class": 3, "stride": 2}, "state_dict": model.state_dict()},
               "ctc_model.pt")
    with pytest.raises(ValueError, match="'stride'"):
        check_task("e2e_mtl", "test_trained_ctc", ns)
    torch.save({"config": {"input_dim": 5, "num_class": 3}, "state_dict": model.state_dict()}, "ctc_model.pt")
    with pytest.raises(RuntimeError, match="size mismatch"):
        check_task("e2e_mtl", "test_trained_ctc", ns)


def test_an_unknown_grade_id_names_the_fix():
    with pytest.raises(KeyError, match="no task 'test_nothing'"):
        check_task("e2e_mtl", "test_nothing", {})
