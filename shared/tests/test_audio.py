"""Tests for asrlab.audio: round trips, resampling, and errors that name the file."""
import numpy as np
import pytest

from asrlab import audio


def _tone(sr: int, seconds: float = 0.5, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_save_load_round_trip(tmp_path, suffix):
    wav = _tone(16000)
    path = audio.save(tmp_path / f"a{suffix}", wav, 16000)
    back, sr = audio.load(path)
    assert sr == 16000 and back.dtype == np.float32 and back.shape == wav.shape
    assert np.max(np.abs(back - wav)) < 1e-3  # 16-bit quantisation only
    assert audio.duration(path) == pytest.approx(0.5, abs=1e-3)


def test_load_resamples_and_keeps_the_tone(tmp_path):
    path = audio.save(tmp_path / "a.wav", _tone(16000, 1.0, 440.0), 16000)
    wav, sr = audio.load(path, sample_rate=8000)
    assert sr == 8000 and wav.shape == (8000,)
    peak_hz = np.argmax(np.abs(np.fft.rfft(wav))) * sr / len(wav)
    assert abs(peak_hz - 440.0) < 2.0


def test_load_downmixes_stereo(tmp_path):
    import soundfile as sf

    left, right = _tone(8000), np.zeros(4000, dtype=np.float32)
    sf.write(str(tmp_path / "s.wav"), np.stack([left, right], axis=1), 8000)
    wav, _ = audio.load(tmp_path / "s.wav")
    assert np.allclose(wav, left / 2, atol=1e-3)


def test_corrupt_and_missing_files_name_the_file(tmp_path):
    bad = tmp_path / "broken.flac"
    bad.write_bytes(b"definitely not audio")
    with pytest.raises(audio.AudioError, match="broken.flac.*corrupt"):
        audio.load(bad)
    with pytest.raises(audio.AudioError, match="missing.wav: no such audio file"):
        audio.load(tmp_path / "missing.wav")


def test_save_rejects_multichannel(tmp_path):
    with pytest.raises(ValueError, match=r"mono waveform.*\(2, 10\)"):
        audio.save(tmp_path / "x.wav", np.zeros((2, 10)), 8000)
