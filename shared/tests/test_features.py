"""Log-Mel front end, librosa agreement, frame counts, normalization and SpecAugment."""
import numpy as np
import pytest
import torch

from asrlab.features import (
    HVB_FEATURES,
    GlobalCMVN,
    LogMel,
    SpecAugment,
    frames_from_samples,
    librosa_log_mel,
    utterance_cmvn,
)


def _tone_in_noise(num_samples: int, sample_rate: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(num_samples) / sample_rate
    chirp = np.sin(2 * np.pi * (300 + 400 * t) * t)  # sweeps across mel bands
    return (0.3 * chirp + 0.02 * rng.standard_normal(num_samples)).astype(np.float32)


@pytest.mark.parametrize("num_samples", [0, 1, 127, 128, 11700, 16000])
@pytest.mark.parametrize("n_fft,hop", [(256, 128), (400, 160), (255, 100)])
def test_frames_from_samples_matches_torch_stft(num_samples, n_fft, hop):
    for center in (True, False):
        expected = frames_from_samples(num_samples, hop, n_fft, center)
        padded = num_samples + 2 * (n_fft // 2) if center else num_samples
        if padded < n_fft:
            assert expected == 0
            continue
        spec = torch.stft(torch.zeros(num_samples), n_fft, hop, window=torch.hann_window(n_fft),
                          center=center, pad_mode="constant", return_complex=True)
        assert spec.shape[-1] == expected
        tensor_count = frames_from_samples(torch.tensor([num_samples]), hop, n_fft, center)
        assert tensor_count.tolist() == [expected]


def test_hvb_default_settings_give_92_frames_for_11700_samples():
    # HarperValleyBank features: 8 kHz, hop 128 -> 1 + N // 128 frames with centred windows.
    assert frames_from_samples(11700, HVB_FEATURES["hop_length"], HVB_FEATURES["n_fft"]) == 92


def test_torch_log_mel_agrees_with_librosa_pipeline():
    wav = _tone_in_noise(11700, 8000)
    expected = librosa_log_mel(wav)  # (T, 128)
    front_end = LogMel(**HVB_FEATURES, log_scale="db", frame_normalize=True)
    feats, length = front_end(torch.from_numpy(wav))
    assert expected.shape == (92, 128) and feats.shape == (92, 128) and int(length) == 92
    np.testing.assert_allclose(feats.numpy(), expected, atol=1e-4)
    assert np.abs(expected).max() == pytest.approx(1.0)


def test_librosa_log_mel_other_settings_agree_too():
    wav = _tone_in_noise(8000, 16000, seed=1)
    expected = librosa_log_mel(wav, sr=16000, n_mels=40, n_fft=512, win_length=400, hop_length=160)
    front_end = LogMel(16000, n_fft=512, win_length=400, hop_length=160, n_mels=40,
                       log_scale="db", frame_normalize=True)
    feats, _ = front_end(torch.from_numpy(wav))
    np.testing.assert_allclose(feats.numpy(), expected, atol=1e-4)


def test_natural_log_front_end_values_and_shape():
    wav = torch.from_numpy(_tone_in_noise(16000, 16000))
    feats, lengths = LogMel()(wav[None])
    assert feats.shape == (1, 101, 80) and lengths.tolist() == [101]
    # Silence maps to log(LOG_OFFSET), not -inf.
    silent, _ = LogMel()(torch.zeros(1, 1600))
    assert torch.allclose(silent, torch.full_like(silent, float(np.log(1e-6))))
    assert torch.isfinite(feats).all()


def test_batched_padded_utterances_match_single_utterances():
    front_end = LogMel()
    wavs = [torch.from_numpy(_tone_in_noise(n, 16000, seed=n)) for n in (16000, 9000, 4321)]
    batch = torch.nn.utils.rnn.pad_sequence(wavs, batch_first=True)  # (3, 16000)
    lengths = torch.tensor([w.numel() for w in wavs])
    feats, feat_lengths = front_end(batch, lengths)
    assert feat_lengths.tolist() == [frames_from_samples(int(n)) for n in lengths]
    for b, wav in enumerate(wavs):
        alone, n = front_end(wav)
        torch.testing.assert_close(feats[b, : int(n)], alone, atol=1e-4, rtol=1e-4)
        assert (feats[b, int(n):] == 0).all()


def test_front_end_is_a_module_that_moves_and_rejects_bad_input():
    front_end = LogMel(n_mels=40).to(torch.float64)
    assert front_end.fbank.shape == (40, 201)
    with pytest.raises(ValueError, match=r"shape \(B, N\) or \(N,\)"):
        front_end(torch.zeros(2, 1, 400))
    with pytest.raises(TypeError, match="floating-point"):
        front_end(torch.zeros(400, dtype=torch.int16))
    with pytest.raises(TypeError, match="torch.from_numpy"):
        front_end(np.zeros(400, dtype=np.float32))
    with pytest.raises(ValueError, match="lengths has 1 entries but the batch has 2"):
        front_end(torch.zeros(2, 400), torch.tensor([400]))
    with pytest.raises(ValueError, match="win_length"):
        LogMel(n_fft=256, win_length=400)
    with pytest.raises(ValueError, match="log_scale"):
        LogMel(log_scale="log10")


def test_utterance_cmvn_normalizes_valid_frames_only():
    torch.manual_seed(0)
    feats = torch.randn(2, 50, 8) * 3 + 5
    lengths = torch.tensor([50, 20])
    out = utterance_cmvn(feats, lengths)
    for b, n in enumerate(lengths.tolist()):
        valid = out[b, :n]
        torch.testing.assert_close(valid.mean(0), torch.zeros(8), atol=1e-5, rtol=0)
        torch.testing.assert_close(valid.std(0, unbiased=False), torch.ones(8), atol=1e-3, rtol=0)
    assert (out[1, 20:] == 0).all()
    # The padded frames' content must not influence the statistics.
    feats[1, 20:] = 1e6
    torch.testing.assert_close(utterance_cmvn(feats, lengths), out)


def test_global_cmvn_uses_corpus_statistics():
    torch.manual_seed(0)
    utts = [torch.randn(n, 4) * torch.tensor([1.0, 2.0, 3.0, 4.0]) + 10 for n in (30, 70, 100)]
    cmvn = GlobalCMVN.from_features(utts)
    stacked = torch.cat(utts)
    torch.testing.assert_close(cmvn.mean, stacked.mean(0), atol=1e-4, rtol=0)
    normalized = cmvn(stacked)
    torch.testing.assert_close(normalized.mean(0), torch.zeros(4), atol=1e-4, rtol=0)
    torch.testing.assert_close(normalized.std(0, unbiased=False), torch.ones(4), atol=1e-3, rtol=0)
    restored = GlobalCMVN(torch.zeros(4), torch.ones(4))
    restored.load_state_dict(cmvn.state_dict())
    torch.testing.assert_close(restored(stacked), normalized)
    with pytest.raises(ValueError, match="no frames"):
        GlobalCMVN.from_features([])
    with pytest.raises(ValueError, match="features have 5 dims"):
        cmvn(torch.zeros(3, 5))


def test_spec_augment_masks_only_in_training_and_is_reproducible():
    feats = torch.randn(3, 120, 40) + 10  # no cell is 0 before masking
    lengths = torch.tensor([120, 80, 30])
    aug = SpecAugment(freq_masks=2, freq_width=10, time_masks=2, time_width=20)
    out1 = aug(feats, lengths, generator=torch.Generator().manual_seed(1))
    out2 = aug(feats, lengths, generator=torch.Generator().manual_seed(1))
    out3 = aug(feats, lengths, generator=torch.Generator().manual_seed(2))
    assert torch.equal(out1, out2) and not torch.equal(out1, out3)
    masked = out1 == 0
    assert masked.any()
    for b, n in enumerate(lengths.tolist()):
        assert not masked[b, n:].any()  # padding untouched
        assert torch.equal(out1[b, n:], feats[b, n:])
        # Every masked cell lies in a fully masked band or a fully masked frame.
        band = masked[b, :n].all(dim=0)  # (F,)
        frame = masked[b, :n].all(dim=1)  # (T,)
        assert torch.equal(masked[b, :n], band[None, :] | frame[:, None])
        assert band.sum() <= 2 * 10 and frame.sum() <= 2 * 20
    aug.eval()
    assert aug(feats, lengths) is feats


def test_spec_augment_time_ratio_limits_width_per_utterance():
    feats = torch.ones(2, 200, 10)
    aug = SpecAugment(freq_masks=0, time_masks=1, time_width=None, time_ratio=0.05)
    gen = torch.Generator().manual_seed(0)
    widest = torch.zeros(2)
    for _ in range(200):
        out = aug(feats, torch.tensor([200, 40]), generator=gen)
        widest = torch.maximum(widest, (out[:, :, 0] == 0).sum(1).float())
    assert widest.tolist() == [10.0, 2.0]  # 5% of 200 and of 40 frames, each reached over 200 draws


def test_spec_augment_rejects_bad_settings():
    with pytest.raises(ValueError, match="time_width"):
        SpecAugment(time_width=None, time_ratio=None)
    with pytest.raises(ValueError, match="time_ratio"):
        SpecAugment(time_ratio=1.5)
    with pytest.raises(ValueError, match=r"shape \(B, T, F\)"):
        SpecAugment()(torch.zeros(10, 80))


def test_float64_front_end_matches_float32():
    wav = torch.from_numpy(_tone_in_noise(4000, 16000))
    feats32, _ = LogMel()(wav)
    feats64, _ = LogMel().double()(wav)
    assert feats64.dtype == torch.float64
    torch.testing.assert_close(feats64.float(), feats32, atol=1e-3, rtol=1e-4)
