"""Log-Mel filterbank features, feature normalization and SpecAugment.

Every model in the course consumes ``(B, T, n_mels)`` log-Mel features computed from ``(B, N)``
waveforms. Two implementations exist and agree with each other (tested):

* :class:`LogMel` -- a torch ``nn.Module`` (CPU or GPU, batched, with lengths) used as a model front end;
* :func:`librosa_log_mel` -- the numpy/librosa pipeline of the original HarperValleyBank recipe
  (``librosa.feature.melspectrogram`` -> ``librosa.power_to_db`` -> ``librosa.util.normalize``, which
  scales each *frame* by its peak), one utterance at a time. The ``e2e_mtl`` assignment normalizes
  each mel *band* over time instead: ``LogMel(**HVB_FEATURES, log_scale="db")`` then
  :func:`utterance_cmvn`.

Usage::

    from asrlab.features import LogMel, SpecAugment, utterance_cmvn

    front_end = LogMel()                                   # 16 kHz, 25 ms window, 10 ms hop, 80 mels
    feats, feat_lens = front_end(wavs, wav_lens)           # (B, N), (B,) -> (B, T, 80), (B,)
    feats = utterance_cmvn(feats, feat_lens)               # zero mean, unit variance per utterance
    feats = SpecAugment()(feats, feat_lens)                # masks only in training mode

    hvb = LogMel(**HVB_FEATURES, log_scale="db", frame_normalize=True)   # == librosa_log_mel
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from torch import nn

from asrlab.audio import HVB_SAMPLE_RATE, SAMPLE_RATE

# LibriSpeech-style front end: 25 ms windows every 10 ms at 16 kHz, 80 mel bands.
N_FFT = 400
WIN_LENGTH = 400
HOP_LENGTH = 160
N_MELS = 80
# Added before the natural log so that silent (all-zero) frames give a finite value.
LOG_OFFSET = 1e-6
# librosa.power_to_db defaults: power floor and dynamic range kept below the utterance's peak.
DB_AMIN = 1e-10
DB_TOP = 80.0
# Smallest positive float32: librosa.util.normalize leaves frames whose peak is below it untouched.
_NORM_THRESHOLD = float(np.finfo(np.float32).tiny)

# HarperValleyBank front end (8 kHz telephone speech): 32 ms windows every 16 ms, 128 mel bands.
HVB_N_MELS = 128
HVB_N_FFT = 256
HVB_WIN_LENGTH = 256
HVB_HOP_LENGTH = 128
HVB_FEATURES: dict[str, int] = {
    "sample_rate": HVB_SAMPLE_RATE,
    "n_fft": HVB_N_FFT,
    "win_length": HVB_WIN_LENGTH,
    "hop_length": HVB_HOP_LENGTH,
    "n_mels": HVB_N_MELS,
}

LOG_SCALES = ("natural", "db")


def frames_from_samples(
    num_samples: int | torch.Tensor,
    hop_length: int = HOP_LENGTH,
    n_fft: int = N_FFT,
    center: bool = True,
) -> int | torch.Tensor:
    """Number of STFT frames for a waveform of ``num_samples`` samples.

    Matches ``torch.stft`` and ``librosa.stft`` frame counts. With ``center=True`` the signal is padded
    by ``n_fft // 2`` on both sides, giving ``1 + num_samples // hop_length`` frames for even ``n_fft``.

    Parameters
    ----------
    num_samples : int or integer tensor of any shape (e.g. ``(B,)`` waveform lengths).
    hop_length, n_fft, center : the STFT settings.

    Returns
    -------
    Frame counts, same type and shape as ``num_samples``; 0 where the waveform is shorter than one frame.
    """
    if hop_length <= 0:
        raise ValueError(f"hop_length must be a positive number of samples, got {hop_length}")
    padded = num_samples + 2 * (n_fft // 2) if center else num_samples
    if isinstance(padded, torch.Tensor):
        return torch.where(padded >= n_fft, (padded - n_fft) // hop_length + 1, torch.zeros_like(padded))
    return (padded - n_fft) // hop_length + 1 if padded >= n_fft else 0


def lengths_to_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """Boolean validity mask: ``(B,) -> (B, max_len)``, True on the first ``lengths[b]`` positions."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def _check_batch(wav: torch.Tensor, lengths: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate a waveform batch; returns ``(B, N)`` float waveforms and ``(B,)`` int64 lengths."""
    if not isinstance(wav, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor waveform of shape (B, N) or (N,), got {type(wav).__name__}; "
                        "convert with torch.from_numpy(wav)")
    if wav.dim() not in (1, 2):
        raise ValueError(f"expected a waveform of shape (B, N) or (N,), got shape {tuple(wav.shape)}; "
                         "downmix multi-channel audio to mono first")
    wav = wav if wav.dim() == 2 else wav[None]  # (B, N)
    if not wav.is_floating_point():
        raise TypeError(f"expected a floating-point waveform in [-1, 1], got dtype {wav.dtype}; "
                        "divide integer PCM by 32768 first")
    if lengths is None:
        lengths = torch.full((wav.shape[0],), wav.shape[1], dtype=torch.long, device=wav.device)
    lengths = torch.as_tensor(lengths, device=wav.device).long().reshape(-1)
    if lengths.shape[0] != wav.shape[0]:
        raise ValueError(f"lengths has {lengths.shape[0]} entries but the batch has {wav.shape[0]} waveforms")
    if lengths.numel() and (lengths.min() < 0 or lengths.max() > wav.shape[1]):
        raise ValueError(f"lengths must lie in [0, {wav.shape[1]}] (the padded waveform length), "
                         f"got min {int(lengths.min())} and max {int(lengths.max())}")
    return wav, lengths


class LogMel(nn.Module):
    """Batched log-Mel filterbank front end (``torch.stft`` + a Slaney mel filterbank).

    Parameters
    ----------
    sample_rate, n_fft, win_length, hop_length, n_mels : STFT and filterbank settings
        (``win_length=None`` means ``n_fft``); defaults are the 16 kHz course front end.
    f_min, f_max : mel filterbank frequency range in Hz (``f_max=None`` means Nyquist).
    power : exponent of the magnitude spectrogram (2.0 = power, as librosa).
    center : pad ``n_fft // 2`` zeros on both sides so frame ``t`` is centred on sample ``t * hop_length``.
    log_scale : ``"natural"`` for ``log(mel + LOG_OFFSET)``; ``"db"`` for ``librosa.power_to_db``
        (``10 log10(max(mel, DB_AMIN))`` floored at ``top_db`` below the utterance's peak).
    top_db : dynamic range of the ``"db"`` scale; ``None`` disables the floor.
    frame_normalize : divide every frame by its largest absolute value over mel bands
        (``librosa.util.normalize`` on the ``(n_mels, T)`` matrix), as the HarperValleyBank pipeline does.

    Frames past an utterance's length are set to 0. The STFT pads with zeros (librosa's default, not
    torch's reflection), so a zero-padded utterance in a batch gets exactly the features it gets alone.
    """

    def __init__(
        self,
        sample_rate: int = SAMPLE_RATE,
        n_fft: int = N_FFT,
        win_length: int | None = WIN_LENGTH,
        hop_length: int = HOP_LENGTH,
        n_mels: int = N_MELS,
        f_min: float = 0.0,
        f_max: float | None = None,
        power: float = 2.0,
        center: bool = True,
        log_scale: str = "natural",
        top_db: float | None = DB_TOP,
        frame_normalize: bool = False,
    ) -> None:
        super().__init__()
        win_length = n_fft if win_length is None else win_length
        if not 0 < win_length <= n_fft:
            raise ValueError(f"win_length must be in (0, n_fft={n_fft}], got {win_length}")
        if log_scale not in LOG_SCALES:
            raise ValueError(f"log_scale must be one of {LOG_SCALES}, got {log_scale!r}")
        f_max = sample_rate / 2 if f_max is None else f_max
        if not 0.0 <= f_min < f_max <= sample_rate / 2:
            raise ValueError(f"need 0 <= f_min < f_max <= sample_rate/2 = {sample_rate / 2}, "
                             f"got f_min={f_min}, f_max={f_max}")
        self.sample_rate, self.n_fft, self.win_length, self.hop_length = sample_rate, n_fft, win_length, hop_length
        self.n_mels, self.power, self.center = n_mels, power, center
        self.log_scale, self.top_db, self.frame_normalize = log_scale, top_db, frame_normalize
        import librosa  # only needed once, to build the filterbank; keeps `import asrlab.features` light

        fbank = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=f_min, fmax=f_max)
        # Buffers follow .to(device) and are saved in checkpoints, so a trained model carries its front end.
        self.register_buffer("fbank", torch.from_numpy(fbank), persistent=False)  # (n_mels, n_fft // 2 + 1)
        self.register_buffer("window", torch.hann_window(win_length, periodic=True), persistent=False)  # (W,)

    def output_lengths(self, num_samples: int | torch.Tensor) -> int | torch.Tensor:
        """Frames produced for waveforms of ``num_samples`` samples (see :func:`frames_from_samples`)."""
        return frames_from_samples(num_samples, self.hop_length, self.n_fft, self.center)

    def forward(self, wav: torch.Tensor, lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Compute features.

        Parameters
        ----------
        wav : (B, N) zero-padded float waveforms, or (N,) for one utterance.
        lengths : (B,) valid samples per waveform; ``None`` means all N.

        Returns
        -------
        feats : (B, T, n_mels) in the module's dtype (float32 unless converted), or (T, n_mels) for a
            1-D input; ``T = output_lengths(N)``.
        feat_lengths : (B,) int64 valid frames per utterance (0-d for a 1-D input).
        """
        batch, lengths = _check_batch(wav, lengths)  # (B, N), (B,)
        unbatched, wav = wav.dim() == 1, batch
        if wav.shape[1] == 0 or (not self.center and wav.shape[1] < self.n_fft):
            raise ValueError(f"waveforms of {wav.shape[1]} samples are too short for one STFT frame "
                             f"(n_fft={self.n_fft}, center={self.center})")
        spec = torch.stft(
            wav.to(self.window.dtype), self.n_fft, self.hop_length, self.win_length, self.window,
            center=self.center, pad_mode="constant", return_complex=True,
        )  # (B, n_fft // 2 + 1, T)
        spec = spec.abs().pow(self.power)
        mel = torch.matmul(self.fbank, spec).transpose(1, 2)  # (B, T, n_mels)
        feat_lengths = self.output_lengths(lengths).clamp(max=mel.shape[1])  # (B,)
        valid = lengths_to_mask(feat_lengths, mel.shape[1])[..., None]  # (B, T, 1)
        if self.log_scale == "natural":
            feats = torch.log(mel + LOG_OFFSET)
        else:
            feats = 10.0 * torch.log10(mel.clamp(min=DB_AMIN))
            if self.top_db is not None:
                # The floor is relative to each utterance's own peak, so padding must not take part.
                peak = feats.masked_fill(~valid, float("-inf")).amax(dim=(1, 2), keepdim=True)  # (B, 1, 1)
                feats = torch.maximum(feats, peak - self.top_db)
        if self.frame_normalize:
            scale = feats.abs().amax(dim=2, keepdim=True)  # (B, T, 1)
            feats = feats / torch.where(scale < _NORM_THRESHOLD, torch.ones_like(scale), scale)
        feats = feats.masked_fill(~valid, 0.0)
        if unbatched:
            return feats[0], feat_lengths[0]
        return feats, feat_lengths


def librosa_log_mel(
    wav: np.ndarray,
    sr: int = HVB_SAMPLE_RATE,
    n_mels: int = HVB_N_MELS,
    n_fft: int = HVB_N_FFT,
    win_length: int = HVB_WIN_LENGTH,
    hop_length: int = HVB_HOP_LENGTH,
) -> np.ndarray:
    """The original HarperValleyBank recipe's features, computed with librosa for one utterance
    (per-frame peak normalization; the ``e2e_mtl`` assignment normalizes per band instead).

    ``librosa.feature.melspectrogram`` (power 2, Hann window, centred frames), then
    ``librosa.power_to_db`` (floor 1e-10, top 80 dB), then ``librosa.util.normalize``
    (each frame divided by its peak absolute value), transposed to time-major.

    Parameters
    ----------
    wav : (N,) float waveform at ``sr``.

    Returns
    -------
    (T, n_mels) float32 with ``T = frames_from_samples(N, hop_length, n_fft)``; values in [-1, 1].
    """
    import librosa

    wav = np.asarray(wav)
    if wav.ndim != 1:
        raise ValueError(f"librosa_log_mel expects one mono waveform of shape (N,), got shape {wav.shape}")
    if not np.issubdtype(wav.dtype, np.floating):
        raise TypeError(f"expected a floating-point waveform in [-1, 1], got dtype {wav.dtype}")
    mel = librosa.feature.melspectrogram(
        y=wav, sr=sr, n_mels=n_mels, n_fft=n_fft, win_length=win_length, hop_length=hop_length
    )  # (n_mels, T)
    log_mel = librosa.util.normalize(librosa.power_to_db(mel, amin=DB_AMIN, top_db=DB_TOP))  # (n_mels, T)
    return np.ascontiguousarray(log_mel.T, dtype=np.float32)  # (T, n_mels)


def utterance_cmvn(feats: torch.Tensor, lengths: torch.Tensor | None = None, eps: float = 1e-5) -> torch.Tensor:
    """Per-utterance mean and variance normalization over valid frames.

    Parameters
    ----------
    feats : (B, T, F) features; frames past ``lengths`` are ignored and returned as 0.
    lengths : (B,) valid frames; ``None`` means all T.
    eps : added to the standard deviation so constant bands do not divide by zero.

    Returns
    -------
    (B, T, F): each utterance's valid frames have zero mean and unit variance per feature.
    """
    if feats.dim() != 3:
        raise ValueError(f"utterance_cmvn expects features of shape (B, T, F), got shape {tuple(feats.shape)}")
    batch, num_frames, _ = feats.shape
    if lengths is None:
        lengths = torch.full((batch,), num_frames, dtype=torch.long, device=feats.device)
    valid = lengths_to_mask(lengths.to(feats.device), num_frames)[..., None]  # (B, T, 1)
    count = lengths.to(feats.device).clamp(min=1).to(feats.dtype)[:, None, None]  # (B, 1, 1)
    masked = feats.masked_fill(~valid, 0.0)
    mean = masked.sum(dim=1, keepdim=True) / count  # (B, 1, F)
    var = ((masked - mean).masked_fill(~valid, 0.0) ** 2).sum(dim=1, keepdim=True) / count  # (B, 1, F)
    return ((feats - mean) / (var.sqrt() + eps)).masked_fill(~valid, 0.0)


class GlobalCMVN(nn.Module):
    """Mean and variance normalization with statistics of a whole training set.

    The statistics are buffers, so they travel with ``.to(device)`` and are saved in the state dict.

    Parameters
    ----------
    mean, std : (F,) per-feature statistics, usually from :meth:`from_features`.
    """

    def __init__(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        super().__init__()
        mean, std = torch.as_tensor(mean, dtype=torch.float32), torch.as_tensor(std, dtype=torch.float32)
        if mean.dim() != 1 or mean.shape != std.shape:
            raise ValueError(f"mean and std must both have shape (F,), got {tuple(mean.shape)} and {tuple(std.shape)}")
        if (std <= 0).any():
            raise ValueError("std must be positive in every feature; constant features need an eps added")
        self.register_buffer("mean", mean)  # (F,)
        self.register_buffer("std", std)  # (F,)

    @classmethod
    def from_features(cls, feats: Iterable[torch.Tensor], eps: float = 1e-5) -> GlobalCMVN:
        """Accumulate statistics over utterances.

        Parameters
        ----------
        feats : iterable of (T_i, F) feature matrices (unpadded).
        eps : added to the standard deviation.
        """
        total = total_sq = None
        count = 0
        for i, utt in enumerate(feats):
            if utt.dim() != 2:
                raise ValueError(f"utterance {i}: expected features of shape (T, F), got shape {tuple(utt.shape)}")
            utt = utt.detach().double()  # float64 sums: a corpus has millions of frames
            total = utt.sum(0) if total is None else total + utt.sum(0)
            total_sq = (utt**2).sum(0) if total_sq is None else total_sq + (utt**2).sum(0)
            count += utt.shape[0]
        if count == 0:
            raise ValueError("GlobalCMVN.from_features got no frames; pass a non-empty list of (T, F) features")
        mean = total / count
        var = (total_sq / count - mean**2).clamp(min=0.0)
        return cls(mean.float(), (var.sqrt() + eps).float())

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T, F) or (T, F) -> same shape; frames past ``lengths`` (if given) are set to 0."""
        if feats.shape[-1] != self.mean.shape[0]:
            raise ValueError(f"features have {feats.shape[-1]} dims but the statistics have {self.mean.shape[0]}")
        out = (feats - self.mean) / self.std
        if lengths is not None:
            out = out.masked_fill(~lengths_to_mask(lengths.to(out.device), out.shape[-2])[..., None], 0.0)
        return out


def _mask_spans(
    num_masks: int, max_width: torch.Tensor, size: torch.Tensor, axis_len: int, generator: torch.Generator | None
) -> torch.Tensor:
    """Union of ``num_masks`` random spans per row: ``(B,)`` limits -> ``(B, axis_len)`` bool.

    Each span has a width drawn uniformly from ``[0, max_width[b]]`` and a start drawn uniformly so the
    span lies inside the first ``size[b]`` positions.
    """
    batch = size.shape[0]
    # Draw on the CPU so the same generator gives the same masks whatever device the features are on.
    u_width, u_start = torch.rand(2, batch, num_masks, generator=generator, dtype=torch.float64)  # (B, M) each
    max_width = torch.minimum(max_width.cpu(), size.cpu()).double()[:, None]  # (B, 1)
    width = torch.floor(u_width * (max_width + 1)).clamp(max=max_width)  # (B, M)
    start = torch.floor(u_start * (size.cpu().double()[:, None] - width + 1))  # (B, M)
    pos = torch.arange(axis_len, dtype=torch.float64)[None, None, :]  # (1, 1, L)
    spans = (pos >= start[..., None]) & (pos < (start + width)[..., None])  # (B, M, L)
    return spans.any(dim=1)  # (B, L)


class SpecAugment(nn.Module):
    """Frequency and time masking (Park et al., 2019) on log-Mel features, in training mode only.

    Parameters
    ----------
    freq_masks : number of frequency masks per utterance.
    freq_width : largest frequency mask width in bands (width drawn uniformly from 0..freq_width).
    time_masks : number of time masks per utterance.
    time_width : largest time mask width in frames.
    time_ratio : alternatively, the largest width as a fraction of each utterance's length;
        when both are given the smaller limit applies.
    mask_value : value written into masked cells (0.0 = the mean of normalized features).
    generator : default random generator (a CPU ``torch.Generator``) for reproducible masks.

    Masks never reach past an utterance's length, so padding stays padding.
    """

    def __init__(
        self,
        freq_masks: int = 2,
        freq_width: int = 27,
        time_masks: int = 2,
        time_width: int | None = 100,
        time_ratio: float | None = None,
        mask_value: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if min(freq_masks, time_masks, freq_width) < 0:
            raise ValueError("freq_masks, time_masks and freq_width must be >= 0, got "
                             f"{freq_masks}, {time_masks}, {freq_width}")
        if time_width is None and time_ratio is None and time_masks > 0:
            raise ValueError("time masks need a limit: give time_width (frames) or time_ratio (fraction of length)")
        if time_width is not None and time_width < 0:
            raise ValueError(f"time_width must be >= 0 frames, got {time_width}")
        if time_ratio is not None and not 0.0 <= time_ratio <= 1.0:
            raise ValueError(f"time_ratio must be a fraction in [0, 1], got {time_ratio}")
        self.freq_masks, self.freq_width = freq_masks, freq_width
        self.time_masks, self.time_width, self.time_ratio = time_masks, time_width, time_ratio
        self.mask_value = mask_value
        self.generator = generator

    def forward(
        self, feats: torch.Tensor, lengths: torch.Tensor | None = None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Mask features.

        Parameters
        ----------
        feats : (B, T, F) features.
        lengths : (B,) valid frames; ``None`` means all T.
        generator : overrides the generator given at construction.

        Returns
        -------
        (B, T, F): a masked copy in training mode; ``feats`` itself in eval mode.
        """
        if not self.training:
            return feats
        if feats.dim() != 3:
            raise ValueError(f"SpecAugment expects features of shape (B, T, F), got shape {tuple(feats.shape)}")
        batch, num_frames, num_bins = feats.shape
        generator = self.generator if generator is None else generator
        if lengths is None:
            lengths = torch.full((batch,), num_frames, dtype=torch.long)
        lengths = lengths.cpu().long()
        freq = _mask_spans(self.freq_masks, torch.full((batch,), self.freq_width), torch.full((batch,), num_bins),
                           num_bins, generator)  # (B, F)
        limit = torch.full((batch,), num_frames if self.time_width is None else self.time_width)
        if self.time_ratio is not None:
            limit = torch.minimum(limit, torch.floor(lengths * self.time_ratio).long())
        time = _mask_spans(self.time_masks, limit, lengths, num_frames, generator)  # (B, T)
        mask = (time[:, :, None] | freq[:, None, :]).to(feats.device)  # (B, T, F)
        # Keep padding untouched: the frequency masks would otherwise write into padded frames.
        mask &= lengths_to_mask(lengths, num_frames).to(feats.device)[..., None]
        return feats.masked_fill(mask, self.mask_value)
