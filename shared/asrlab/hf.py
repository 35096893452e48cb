"""Hugging Face ``transformers`` support: the course corpora as ``Trainer`` datasets, and wav2vec2 start points.

Needs the optional extra: ``pip install "asrlab[hf]"`` (transformers and accelerate; Colab has both).

Usage::

    from asrlab import course, hf
    from asrlab.data import LibriSpeech

    train = hf.SpeechDataset(LibriSpeech(course.librispeech(), "train-clean"), prepare=my_prepare)
    train[0]        # {"input_values": (N,) float32, "labels": [ids], "text": "..."} (whatever prepare returns)
    start = course.wav2vec2_start()            # "facebook/wav2vec2-base" (full) or hf.TINY (ci)
    model = hf.wav2vec2_for_ctc(start, vocab_size=32, pad_token_id=0, ctc_loss_reduction="mean")

Nothing here downloads on its own: a hub name is fetched by ``from_pretrained`` only when a notebook asks for
it (the ``full`` budget, with internet); ``TINY`` builds a small randomly initialised model from a config, and
a local folder written by ``save_pretrained`` loads offline (safetensors only, never pickle).
"""
from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from asrlab.course import TINY_WAV2VEC2

__all__ = ["TINY", "TINY_CONFIG", "SpeechDataset", "ctc_processor", "require_transformers", "wav2vec2_config",
           "wav2vec2_for_ctc", "wav2vec2_for_pretraining", "pretraining_features"]

# The start point of the ci budget: a wav2vec2 built from TINY_CONFIG, randomly initialised.
TINY = TINY_WAV2VEC2
# Conv feature encoder (7 layers, 320 x downsampling = 20 ms frames, like wav2vec2-base) of 64 channels with layer
# norm, and a pre-norm ("stable layer norm") 4-layer transformer of width 192: about 2 M parameters. From random
# weights this variant leaves the all-blank phase of CTC training within a few CPU minutes; the post-norm layout of
# wav2vec2-base with a frozen random encoder did not.
TINY_CONFIG: dict[str, Any] = {
    "conv_dim": (64,) * 7,
    "conv_kernel": (10, 3, 3, 3, 3, 2, 2),
    "conv_stride": (5, 2, 2, 2, 2, 2, 2),
    "hidden_size": 192,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "intermediate_size": 768,
    "num_conv_pos_embeddings": 32,
    "num_conv_pos_embedding_groups": 4,
    "feat_extract_norm": "layer",
    "do_stable_layer_norm": True,
    "num_codevector_groups": 2,
    "num_codevectors_per_group": 64,
    "codevector_dim": 64,
    "proj_codevector_dim": 64,
    "num_negatives": 20,
}


def require_transformers() -> Any:
    """The ``transformers`` module, or an error that says how to install it."""
    if importlib.util.find_spec("transformers") is None:
        raise ImportError('asrlab.hf needs Hugging Face transformers: pip install "asrlab[hf]" '
                          '(or pip install "transformers>=5.0,<5.25" accelerate)')
    import transformers

    return transformers


class SpeechDataset(Dataset):
    """An asrlab utterance dataset as ``Trainer`` items.

    Parameters
    ----------
    dataset : any asrlab dataset whose items hold ``waveform`` ((N,) float tensor) and ``text``
        (:class:`asrlab.data.LibriSpeech`, :class:`asrlab.data.CustomDir`, ...).
    prepare : ``prepare(waveform (N,) float32 ndarray, text) -> dict``, e.g. feature extractor + tokenizer;
        ``None`` gives ``{"input_values": waveform, "text": text}``.
    normalize_text : applied to the transcript first (default: lower case, as the course tokenizers use).
    max_seconds : drop utterances longer than this (self-attention memory grows with the square of the length).

    Items are the dicts ``prepare`` returns (``text`` is added when missing).
    """

    def __init__(self, dataset: Any, prepare: Callable[[np.ndarray, str], dict] | None = None,
                 normalize_text: Callable[[str], str] = str.lower, max_seconds: float | None = None) -> None:
        if max_seconds is not None and max_seconds <= 0:
            raise ValueError(f"max_seconds must be positive (or None for no limit), got {max_seconds}")
        self.dataset = dataset
        self.prepare = prepare
        self.normalize_text = normalize_text
        durations = list(dataset.durations()) if hasattr(dataset, "durations") else None
        keep = range(len(dataset))
        if max_seconds is not None:
            if durations is None:
                raise ValueError("max_seconds needs a dataset with durations(); pass max_seconds=None")
            keep = [i for i in keep if durations[i] <= max_seconds]
        self.indices: list[int] = list(keep)
        self._durations = None if durations is None else [durations[i] for i in self.indices]

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = self.dataset[self.indices[index]]
        if item.get("text") is None:
            raise ValueError(f"utterance {item.get('utt_id', index)} has no transcript; SpeechDataset needs text")
        waveform = np.asarray(item["waveform"], dtype=np.float32).reshape(-1)
        text = self.normalize_text(str(item["text"]))
        out = {"input_values": waveform, "text": text} if self.prepare is None else dict(self.prepare(waveform, text))
        out.setdefault("text", text)
        return out

    def durations(self) -> list[float]:
        """Seconds per item (for length grouping)."""
        if self._durations is None:
            raise ValueError("the wrapped dataset has no durations()")
        return self._durations

    def texts(self) -> list[str]:
        """The normalized transcripts of the items (e.g. to build a vocabulary), without loading audio."""
        utterances = getattr(self.dataset, "utterances", None)
        if utterances is not None:
            return [self.normalize_text(utterances[i].text) for i in self.indices]
        return [self[i]["text"] for i in range(len(self))]


def ctc_processor(vocab_path: str | Path, sampling_rate: int = 16_000) -> Any:
    """The course's ``Wav2Vec2Processor`` for a character ``vocab.json``.

    ``[UNK]``, ``[PAD]`` (the CTC blank) and ``|`` (the word delimiter) are the special tokens; the feature extractor
    takes 1-D waveforms at ``sampling_rate``, pads with 0.0 and normalizes every utterance to zero mean and unit
    variance over its own samples (it returns the attention mask).
    """
    transformers = require_transformers()
    path = Path(vocab_path)
    if not path.is_file():
        raise FileNotFoundError(f"no vocabulary at {path}: write the token -> id dict as JSON first")
    tokenizer = transformers.Wav2Vec2CTCTokenizer(str(path), unk_token="[UNK]", pad_token="[PAD]",
                                                  word_delimiter_token="|")
    features = transformers.Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=sampling_rate, padding_value=0.0,
                                                     do_normalize=True, return_attention_mask=True)
    return transformers.Wav2Vec2Processor(feature_extractor=features, tokenizer=tokenizer)


def wav2vec2_config(**overrides: Any) -> Any:
    """``Wav2Vec2Config`` of the tiny course model (:data:`TINY_CONFIG`) with ``overrides`` applied."""
    transformers = require_transformers()
    return transformers.Wav2Vec2Config(**{**TINY_CONFIG, **overrides})


def _local_or_hub(start: str | Path) -> str:
    """A folder as a string, or a hub name; a path that looks local but is missing is an error."""
    text = str(start)
    path = Path(text).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"{path} has no config.json: point at a folder written by save_pretrained")
        return str(path)
    if text.startswith((".", "/", "~")) or text.count("/") > 1:
        raise FileNotFoundError(f"no model folder at {text}: save one with model.save_pretrained(folder), or give "
                                "a hub name such as facebook/wav2vec2-base")
    return text


def _load(model_class: Any, start: str | Path, **overrides: Any) -> Any:
    if str(start) == TINY:
        return model_class(wav2vec2_config(**overrides))
    return model_class.from_pretrained(_local_or_hub(start), use_safetensors=True, ignore_mismatched_sizes=True,
                                       **overrides)


def wav2vec2_for_ctc(start: str | Path, **overrides: Any) -> Any:
    """A ``Wav2Vec2ForCTC`` from a start point.

    Parameters
    ----------
    start : :data:`TINY` (build from :data:`TINY_CONFIG`, random weights), a folder written by
        ``save_pretrained`` (safetensors), or a hub name (``facebook/wav2vec2-base``, needs internet once).
    **overrides : config fields, e.g. ``vocab_size``, ``pad_token_id``, ``ctc_loss_reduction``. A CTC head whose
        size differs from the checkpoint's (or a pretraining checkpoint without one) is initialised anew.
    """
    return _load(require_transformers().Wav2Vec2ForCTC, start, **overrides)


def wav2vec2_for_pretraining(start: str | Path = TINY, **overrides: Any) -> Any:
    """A ``Wav2Vec2ForPreTraining`` (context network + quantizer) from a start point, see :func:`wav2vec2_for_ctc`."""
    return _load(require_transformers().Wav2Vec2ForPreTraining, start, **overrides)


def pretraining_features(model: Any, input_values: torch.Tensor, mask_prob: float = 0.5, mask_length: int = 4,
                         seed: int = 0) -> dict[str, torch.Tensor]:
    """What the wav2vec2 contrastive loss compares, for one batch, with masks and negatives drawn from ``seed``.

    Parameters
    ----------
    model : a ``Wav2Vec2ForPreTraining`` (put it in eval mode for deterministic quantization).
    input_values : (B, N) float waveforms (unpadded: every utterance is N samples long).
    mask_prob, mask_length : span masking of the feature frames (``_compute_mask_indices``).

    Returns
    -------
    dict with ``context`` (B, T, D) projected transformer outputs c_t, ``quantized`` (B, T, D) projected
    quantized targets q_t, ``mask`` (B, T) bool masked frames, ``negatives`` (B, T, K) int64 indices into the
    flattened (B * T) frames (K distractors per frame, drawn from the same utterance's masked frames), and
    ``temperature`` (float tensor, the model's ``contrastive_logits_temperature``).
    """
    from transformers.models.wav2vec2.modeling_wav2vec2 import _compute_mask_indices, _sample_negative_indices

    cfg = model.config
    batch = input_values.shape[0]
    frames = int(model._get_feat_extract_output_lengths(torch.tensor(input_values.shape[1])))
    state = np.random.get_state()
    np.random.seed(seed)          # both helpers draw with numpy's global generator
    try:
        mask = _compute_mask_indices((batch, frames), mask_prob=mask_prob, mask_length=mask_length, min_masks=2)
        negatives = _sample_negative_indices((batch, frames), cfg.num_negatives, mask_time_indices=mask)
    finally:
        np.random.set_state(state)
    mask_t = torch.as_tensor(mask, dtype=torch.bool)
    with torch.no_grad():
        out = model(input_values, mask_time_indices=mask_t)
    return {"context": out.projected_states, "quantized": out.projected_quantized_states, "mask": mask_t,
            "negatives": torch.as_tensor(negatives, dtype=torch.long),
            "temperature": torch.tensor(float(cfg.contrastive_logits_temperature))}

