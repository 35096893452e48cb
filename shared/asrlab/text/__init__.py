"""Text processing: normalization and the course tokenizers.

- :func:`normalize_transcript` — case folding, punctuation and whitespace rules.
- :class:`CharTokenizer` — 29 symbols, blank last (CTC / RNN-T assignments).
- :class:`HVBVocab` — HarperValleyBank's 48-class vocabulary with special and silent tokens.
- :class:`BPETokenizer` — sentencepiece BPE trained in memory, blank last.
"""
from asrlab.text.bpe import BPETokenizer
from asrlab.text.char import BLANK_SYMBOL, CharTokenizer
from asrlab.text.hvb import HVBVocab
from asrlab.text.normalize import normalize_transcript

__all__ = ["BLANK_SYMBOL", "BPETokenizer", "CharTokenizer", "HVBVocab", "normalize_transcript"]
