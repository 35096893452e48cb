"""The `asrlab` command: every subcommand is wired, and the main job runs end to end on tiny corpora."""
import subprocess
import sys

import pytest

from asrlab import cli


def test_every_command_has_help(capsys):
    for path in cli.COMMANDS:
        with pytest.raises(SystemExit) as done:
            cli.main([*path, "--help"])
        assert done.value.code == 0
        assert "usage: asrlab " + " ".join(path) in capsys.readouterr().out


def test_demo_makes_both_corpora_and_scores_the_baseline(tmp_path, capsys):
    code = cli.main(["demo", "--out", str(tmp_path), "--hours", "0.01", "--hvb-hours", "0.005",
                     "--workers", "2", "--baseline-limit", "2"])
    out = capsys.readouterr().out
    assert code == 0
    assert (tmp_path / "synth-libri" / "test-clean").is_dir() and (tmp_path / "synth-hvb" / "labels.npz").is_file()
    assert "test-other" in out and "Outside baseline: pocketsphinx on test-clean (2 utterances)" in out
    wer = float(out.split("WER ")[-1].split("%")[0])
    assert 0.0 <= wer <= 200.0


def test_module_entry_point_and_version():
    out = subprocess.run([sys.executable, "-m", "asrlab", "--version"], capture_output=True, text=True, check=True)
    import asrlab

    assert out.stdout.strip() == f"asrlab {asrlab.__version__}"


def test_known_errors_are_one_line_with_the_fix(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert cli.main(["baseline", "--root", str(missing), "--split", "test-clean"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    assert err.startswith("asrlab: error: ") and str(missing) in err and "asrlab data synth librispeech" in err


def test_traceback_flag_shows_where_a_known_error_came_from(tmp_path):
    from asrlab.errors import AsrlabError

    with pytest.raises(AsrlabError, match="does not exist"):
        cli.main(["--traceback", "baseline", "--root", str(tmp_path / "nowhere"), "--split", "test-clean"])


def test_help_names_the_environment_variables(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for name in ("ASRLAB_BUDGET", "ASRLAB_CACHE", "ASRLAB_DATA", "ASRLAB_LIBRISPEECH", "ASRLAB_HVB"):
        assert name in out


def test_demo_trains_a_course_model_and_scores_it_on_the_baseline_split(tmp_path, capsys):
    code = cli.main(["demo", "--out", str(tmp_path), "--hours", "0.02", "--hvb-hours", "0.005", "--workers", "2",
                     "--no-baseline", "--words-per-list", "10", "--train-epochs", "1", "--baseline-limit", "3"])
    out = capsys.readouterr().out
    assert code == 0
    assert "== A course model: BiLSTM-CTC" in out and "1 epochs on train-clean" in out
    line = out.strip().splitlines()[-1]
    assert line.startswith("WER ") and "on test-clean (3 utterances; trained in" in line
