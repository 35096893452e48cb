"""Byte-pair-encoding subwords (sentencepiece) with a CTC blank appended after the pieces.

Texts are normalized with :func:`asrlab.text.normalize_transcript` before training and encoding,
so the model only ever sees ``a-z``, apostrophe and space. The blank id is the last index
(``len(tok) - 1``), the same convention as :class:`asrlab.text.CharTokenizer`.

Usage::

    from asrlab.text import BPETokenizer
    tok = BPETokenizer.train(transcripts, vocab_size=256, model_dir="runs/bpe")  # in memory + bpe.model
    ids = tok.encode("HE HOPED THERE WOULD BE STEW")
    tok.decode(ids)                         # "he hoped there would be stew"
    tok = BPETokenizer.load("runs/bpe/bpe.model")
"""
from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

from asrlab.text.normalize import normalize_transcript

MODEL_FILENAME = "bpe.model"
UNK_ID = 0  # sentencepiece needs an unknown piece; bos/eos/pad are disabled (CTC does not use them)


class BPETokenizer:
    """A trained sentencepiece BPE model plus a blank id for CTC.

    Parameters
    ----------
    model_proto : bytes
        The serialized sentencepiece model (what ``bpe.model`` contains).
    """

    def __init__(self, model_proto: bytes) -> None:
        import sentencepiece as spm  # imported here: only BPE users pay for it

        self.model_proto = bytes(model_proto)
        self._sp = spm.SentencePieceProcessor(model_proto=self.model_proto)
        self.num_pieces: int = self._sp.get_piece_size()
        self.blank: int = self.num_pieces  # appended after the sentencepiece ids
        self.unk: int = UNK_ID

    @classmethod
    def train(
        cls,
        texts: Iterable[str],
        vocab_size: int,
        model_dir: str | Path | None = None,
        model_type: str = "bpe",
    ) -> BPETokenizer:
        """Train on ``texts`` in memory; also write ``<model_dir>/bpe.model`` when ``model_dir`` is given.

        ``vocab_size`` counts sentencepiece pieces (``<unk>`` included); the blank makes
        ``len(tokenizer) == vocab_size + 1``.
        """
        import sentencepiece as spm

        sentences = [s for s in (normalize_transcript(t) for t in texts) if s]
        if not sentences:
            raise ValueError("BPETokenizer.train got no non-empty text after normalization; pass the corpus transcripts")
        if vocab_size < 2:
            raise ValueError(f"vocab_size must be at least 2, got {vocab_size}")
        buffer = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(sentences),
                model_writer=buffer,
                vocab_size=vocab_size,
                model_type=model_type,
                character_coverage=1.0,  # the alphabet is tiny; keep every character
                unk_id=UNK_ID,
                bos_id=-1,
                eos_id=-1,
                pad_id=-1,
                minloglevel=2,  # silence the trainer's progress log
            )
        except RuntimeError as exc:
            # sentencepiece reports e.g. "Vocabulary size too high (4000). Please set it to a value <= 127."
            raise ValueError(
                f"sentencepiece could not train a {model_type} model with vocab_size={vocab_size} on "
                f"{len(sentences)} sentences: {exc}. Lower vocab_size or train on more text."
            ) from exc
        tokenizer = cls(buffer.getvalue())
        if model_dir is not None:
            tokenizer.save(Path(model_dir) / MODEL_FILENAME)
        return tokenizer

    @classmethod
    def load(cls, path: str | Path) -> BPETokenizer:
        """Load a model written by :meth:`save` (a file, or a directory holding ``bpe.model``)."""
        path = Path(path)
        if path.is_dir():
            path = path / MODEL_FILENAME
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no sentencepiece model; train one with BPETokenizer.train(texts, vocab_size, model_dir)")
        return cls(path.read_bytes())

    def save(self, path: str | Path) -> Path:
        """Write the sentencepiece model to ``path``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.model_proto)
        return path

    def __len__(self) -> int:
        return self.num_pieces + 1  # pieces + blank

    @property
    def symbols(self) -> tuple[str, ...]:
        """The piece strings by id, blank (``"<blank>"``) last."""
        return tuple(self._sp.id_to_piece(i) for i in range(self.num_pieces)) + ("<blank>",)

    def encode(self, text: str) -> list[int]:
        """Normalize and segment ``text`` into piece ids, shape (num_pieces_in_text,)."""
        return list(self._sp.encode(normalize_transcript(text)))

    def decode(self, ids: Iterable[int]) -> str:
        """Piece ids (list, array or 1-D tensor) back to text; blank ids are skipped."""
        pieces = []
        for i in ids:
            i = int(i)
            if not 0 <= i <= self.num_pieces:
                raise ValueError(f"token id {i} is outside the BPE vocabulary (0..{self.num_pieces})")
            if i != self.blank:
                pieces.append(i)
        return self._sp.decode(pieces)

    def __repr__(self) -> str:
        return f"BPETokenizer(vocab_size={len(self)}, blank={self.blank})"
