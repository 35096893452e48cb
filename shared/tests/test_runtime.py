"""asrlab.setup: the version check, the device line and the GPU advice of the notebooks' setup cell."""
import pytest

import asrlab
from asrlab.errors import SettingError
from asrlab.runtime import check_version, device_summary


def test_a_stale_import_asks_for_a_restart():
    check_version("0.1.0", "0.1.0")
    with pytest.raises(SettingError, match=r"needs asrlab 0.2.0, but asrlab 0.1.0 is imported: restart"):
        check_version("0.2.0", "0.1.0")


@pytest.mark.parametrize("gpu, budget, cuda, expected", [
    ("training", "full", None, "Training on a CPU takes hours: switch to a GPU runtime"),
    ("helps", "full", None, "faster on a GPU"),
    ("none", "full", None, "no GPU needed"),
    ("training", "ci", None, "short CPU runs"),
    ("training", "full", "NVIDIA T4", "device: cuda (NVIDIA T4), budget: full"),
])
def test_the_device_line_gives_advice_only_where_it_helps(gpu, budget, cuda, expected):
    line = device_summary(gpu, budget, cuda)
    assert expected in line
    if cuda:
        assert "GPU runtime" not in line


def test_unknown_gpu_need_is_refused():
    with pytest.raises(ValueError, match="gpu must be one of"):
        device_summary("lots", "full", None)


def test_setup_returns_the_device_and_prints_one_line(capsys, monkeypatch):
    monkeypatch.setenv("ASRLAB_BUDGET", "ci")
    device = asrlab.setup(asrlab.__version__, gpu="training")
    out = capsys.readouterr().out.strip()
    assert device in ("cpu", "cuda") and out.count("\n") == 0
    assert out.startswith(f"asrlab {asrlab.__version__}, torch ") and "budget: ci" in out
