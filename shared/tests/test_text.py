"""Tests for asrlab.text: normalization, the character tokenizer, the HVB vocabulary and BPE."""
import string

import numpy as np
import pytest
import torch

from asrlab.text import BPETokenizer, CharTokenizer, HVBVocab, normalize_transcript


# ----------------------------------------------------------------------------- normalization
@pytest.mark.parametrize(
    "raw, expected",
    [
        ("HE HOPED THERE WOULD BE STEW", "he hoped there would be stew"),
        ("  Hello,\tWORLD --  it’s me! ", "hello world it's me"),
        ("well-known café", "well known cafe"),
        ("Room 101.", "room"),
        ("...", ""),
    ],
)
def test_normalize_transcript(raw, expected):
    assert normalize_transcript(raw) == expected


def test_normalize_is_idempotent_and_rejects_non_strings():
    once = normalize_transcript("Don't STOP -- believin'!")
    assert normalize_transcript(once) == once == "don't stop believin'"
    with pytest.raises(TypeError, match="expects a str"):
        normalize_transcript(b"bytes")


# ----------------------------------------------------------------------------- CharTokenizer
def test_char_tokenizer_vocabulary_order():
    tok = CharTokenizer()
    assert len(tok) == 29
    assert tok.symbols[:2] == ("'", " ")
    assert "".join(tok.symbols[2:28]) == string.ascii_lowercase
    assert tok.blank == 28 == len(tok) - 1
    assert tok.symbol_to_id("a") == 2 and tok.symbol_to_id("z") == 27


def test_char_tokenizer_encode_decode():
    tok = CharTokenizer()
    assert tok.encode("Hello, world!") == [9, 6, 13, 13, 16, 1, 24, 16, 19, 13, 5]
    assert tok.decode(tok.encode("IT'S 5 O'CLOCK")) == "it's o'clock"
    # blank ids are skipped and tensors / arrays are accepted
    ids = torch.tensor([9, tok.blank, 10])
    assert tok.decode(ids) == "hi" and tok.decode(np.array([2, 3])) == "ab"
    assert tok.blank not in tok.encode("any text _ with underscores")


def test_char_tokenizer_errors():
    tok = CharTokenizer()
    with pytest.raises(ValueError, match="outside the vocabulary of 29"):
        tok.decode([29])
    with pytest.raises(ValueError, match="not in the character vocabulary"):
        tok.symbol_to_id("A")


# ----------------------------------------------------------------------------- HVBVocab
def test_hvb_vocab_layout():
    vocab = HVBVocab()
    assert vocab.num_class == len(vocab) == 48
    assert (vocab.eps, vocab.sos, vocab.eos, vocab.pad_index) == (0, 1, 2, 3)
    assert vocab.symbols[4:13] == (" ", "'", "~", "-", ".", "<", ">", "[", "]")
    assert vocab.symbols[13] == "a" and vocab.symbols[38] == "z"
    assert vocab.symbols[39] == "[baby]" and vocab.symbols[47] == "[cough]"


def test_hvb_encode_matches_word_by_word_rule():
    vocab = HVBVocab()
    # "hi there ." : characters + 4, single spaces between words
    assert vocab.encode("hi there .") == [20, 21, 4, 32, 20, 17, 30, 17, 4, 8]
    # a silent token is one id when it is a whole word; extra whitespace collapses
    ids = vocab.encode("  [laughter]   yes ")
    assert ids == [41, 4, 37, 17, 31]
    # inside a word it is spelled out character by character
    spelled = vocab.encode("[laughter].")
    assert 41 not in spelled and len(spelled) == len("[laughter].")
    assert vocab.encode("yes", append_eos=True) == [37, 17, 31, vocab.eos]
    assert vocab.decode(vocab.encode("[noise] i'd like ~ to <pay> a-bill")) == "[noise] i'd like ~ to <pay> a-bill"
    assert vocab.decode([1, 20, 21, 2, 3]) == "hi"
    assert vocab.indices_to_symbols([0, 41, 3]) == ["<eps>", "[laughter]", "<pad>"]


def test_hvb_pad_and_errors():
    vocab = HVBVocab()
    assert vocab.pad([20, 21], 5) == ([20, 21, 3, 3, 3], 2)
    assert vocab.pad([20, 21, 22], 2) == ([20, 21], 2)
    assert vocab.pad([20], 3, pad=0) == ([20, 0, 0], 1)
    with pytest.raises(ValueError, match="not in the HarperValleyBank vocabulary"):
        vocab.encode("Hello")
    with pytest.raises(ValueError, match="outside the HarperValleyBank vocabulary"):
        vocab.decode([48])


# ----------------------------------------------------------------------------- BPE
CORPUS = [
    "HE HOPED THERE WOULD BE STEW FOR DINNER",
    "TURNIPS AND CARROTS AND BRUISED POTATOES AND FAT MUTTON PIECES",
    "STUFF IT INTO YOU HIS BELLY COUNSELLED HIM",
    "AFTER EARLY NIGHTFALL THE YELLOW LAMPS WOULD LIGHT UP HERE AND THERE",
] * 10


def test_bpe_train_encode_decode_round_trip(tmp_path):
    tok = BPETokenizer.train(CORPUS, vocab_size=60, model_dir=tmp_path)
    assert len(tok) == 61 and tok.blank == 60 and tok.symbols[-1] == "<blank>"
    text = "He hoped there would be stew!"
    ids = tok.encode(text)
    assert all(0 <= i < tok.blank for i in ids)
    assert len(ids) < len(normalize_transcript(text))  # merges happened
    assert tok.decode(ids + [tok.blank]) == "he hoped there would be stew"
    # the saved model reloads with identical behaviour
    loaded = BPETokenizer.load(tmp_path)
    assert loaded.encode(text) == ids and len(loaded) == len(tok)


def test_bpe_errors(tmp_path):
    with pytest.raises(ValueError, match="Lower vocab_size"):
        BPETokenizer.train(CORPUS, vocab_size=5000)
    with pytest.raises(ValueError, match="no non-empty text"):
        BPETokenizer.train(["...", "!!"], vocab_size=10)
    with pytest.raises(FileNotFoundError, match="no sentencepiece model"):
        BPETokenizer.load(tmp_path / "missing.model")
    tok = BPETokenizer.train(CORPUS, vocab_size=40)
    with pytest.raises(ValueError, match="outside the BPE vocabulary"):
        tok.decode([41])
