"""Waveform augmentations: exact SNR, speed factor, gain, shift, composition, types and errors."""
import numpy as np
import pytest
import torch

from asrlab.augment import AddNoise, Compose, Gain, RandomApply, SpeedPerturb, TimeShift, power

SAMPLE_RATE = 16000


def _tone(seconds: float = 1.0, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _dominant_freq(wav: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(wav))
    return float(np.fft.rfftfreq(wav.size, 1 / SAMPLE_RATE)[spectrum.argmax()])


@pytest.mark.parametrize("snr_db", [-5.0, 0.0, 10.0, 25.0])
def test_add_noise_hits_the_exact_snr(snr_db):
    wav = _tone()
    out = AddNoise(snr_db)(wav, np.random.default_rng(0))
    noise = out.astype(np.float64) - wav.astype(np.float64)
    measured = 10 * np.log10(power(wav.astype(np.float64)) / power(noise))
    assert measured == pytest.approx(snr_db, abs=1e-3)  # float32 output rounding only
    assert out.dtype == np.float32 and out.shape == wav.shape


def test_add_noise_from_recordings_crops_or_tiles_and_keeps_snr():
    rng = np.random.default_rng(1)
    short, long = rng.standard_normal(3000), rng.uniform(-1, 1, 40000)
    wav = _tone().astype(np.float64)
    for noises in ([short], [long]):
        out = AddNoise(12.0, noises=noises)(wav, np.random.default_rng(2))
        noise = out - wav
        assert 10 * np.log10(power(wav) / power(noise)) == pytest.approx(12.0, abs=1e-9)
    # SNR drawn from a range stays inside it.
    for seed in range(10):
        out = AddNoise((5.0, 15.0))(wav, np.random.default_rng(seed))
        assert 5.0 <= 10 * np.log10(power(wav) / power(out - wav)) <= 15.0


def test_add_noise_leaves_silence_alone_and_rejects_bad_noise():
    silence = np.zeros(1000, dtype=np.float32)
    assert np.array_equal(AddNoise(10.0)(silence, np.random.default_rng(0)), silence)
    with pytest.raises(ValueError, match=r"noises\[0\] must be a non-silent"):
        AddNoise(10.0, noises=[np.zeros(100)])
    with pytest.raises(ValueError, match="low <= high"):
        AddNoise((20.0, 10.0))


@pytest.mark.parametrize("factor", [0.9, 1.1, 1.25])
def test_speed_perturb_changes_duration_and_pitch_by_the_factor(factor):
    wav = _tone(1.0, 500.0)
    out = SpeedPerturb([factor])(wav, np.random.default_rng(0))
    assert abs(out.size - wav.size / factor) <= 1
    assert _dominant_freq(out) == pytest.approx(500.0 * factor, rel=0.01)
    assert out.dtype == np.float32


def test_speed_perturb_chooses_among_factors_and_identity_is_exact():
    wav = _tone(0.5)
    lengths = {SpeedPerturb((0.9, 1.0, 1.1))(wav, np.random.default_rng(s)).size for s in range(30)}
    assert lengths == {round(wav.size / 0.9), wav.size, round(wav.size / 1.1)}
    assert np.array_equal(SpeedPerturb([1.0])(wav, np.random.default_rng(0)), wav)
    with pytest.raises(ValueError, match="positive speed factors"):
        SpeedPerturb([0.0, 1.0])


def test_gain_scales_by_the_drawn_decibels():
    wav = _tone()
    out = Gain(6.0, 6.0)(wav, np.random.default_rng(0))
    np.testing.assert_allclose(out, wav * 10 ** (6.0 / 20), rtol=1e-6)
    for seed in range(10):
        ratio_db = 10 * np.log10(power(Gain(-3.0, 3.0)(wav, np.random.default_rng(seed))) / power(wav))
        assert -3.0 - 1e-4 <= ratio_db <= 3.0 + 1e-4


def test_time_shift_moves_samples_and_zero_fills():
    wav = np.arange(1, 101, dtype=np.float32)
    shifts = set()
    for seed in range(40):
        out = TimeShift(0.1)(wav, np.random.default_rng(seed))
        assert out.shape == wav.shape
        first = int(np.flatnonzero(out)[0])
        shift = first if first > 0 else -int(out[0] - 1)  # a left shift starts mid-signal
        assert abs(shift) <= 10
        if shift >= 0:
            np.testing.assert_array_equal(out[shift:], wav[: 100 - shift])
        else:
            np.testing.assert_array_equal(out[:shift], wav[-shift:])
            assert (out[shift:] == 0).all()
        shifts.add(shift)
    assert min(shifts) < 0 < max(shifts)


def test_same_generator_seed_gives_same_augmentation_and_tensors_round_trip():
    pipeline = Compose([SpeedPerturb(), Gain(), AddNoise((0.0, 20.0)), TimeShift()])
    wav = _tone(0.3)
    a = pipeline(wav, np.random.default_rng(5))
    b = pipeline(wav, np.random.default_rng(5))
    c = pipeline(wav, np.random.default_rng(6))
    assert np.array_equal(a, b) and not (a.shape == c.shape and np.array_equal(a, c))
    as_tensor = pipeline(torch.from_numpy(wav), np.random.default_rng(5))
    assert isinstance(as_tensor, torch.Tensor) and as_tensor.dtype == torch.float32
    np.testing.assert_allclose(as_tensor.numpy(), a, atol=1e-6)


def test_random_apply_probability():
    wav = _tone(0.1)
    gain = Gain(10.0, 10.0)
    rng = np.random.default_rng(0)
    applied = sum(not np.array_equal(RandomApply(gain, p=0.3)(wav, rng), wav) for _ in range(2000))
    assert 500 < applied < 700
    assert RandomApply(gain, p=0.0)(wav, rng) is wav
    with pytest.raises(ValueError, match="probability"):
        RandomApply(gain, p=2.0)


def test_bad_inputs_raise_clear_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match="numpy.random.default_rng"):
        Gain()(_tone(0.1), 0)
    with pytest.raises(ValueError, match=r"shape \(N,\)"):
        Gain()(np.zeros((2, 100), dtype=np.float32), rng)
    with pytest.raises(TypeError, match="floating-point"):
        Gain()(np.zeros(100, dtype=np.int16), rng)
    with pytest.raises(TypeError, match="floating-point"):
        Gain()(torch.zeros(100, dtype=torch.int16), rng)
    with pytest.raises(TypeError, match="numpy array or torch tensor"):
        Gain()([0.0, 0.1], rng)
    with pytest.raises(TypeError, match=r"transforms\[1\]"):
        Compose([Gain(), "speed"])
    with pytest.raises(ValueError, match="max_shift"):
        TimeShift(2.0)
