"""Book-like English sentences for the LibriSpeech-style corpus.

Usage::

    gen = BookSentences(np.random.default_rng(0))
    spoken = gen.utterance()          # 'When the old sailor walked into the harbour, she found a key.'
    normalize_transcript(spoken)      # 'WHEN THE OLD SAILOR WALKED INTO THE HARBOUR SHE FOUND A KEY'

A template is a string of literal words and ``{slot}`` fields; each slot is filled by a small
grammar function (noun phrases agree with their determiner, verbs take the form the template asks
for). The spoken text keeps punctuation so eSpeak phrases it naturally; the transcript is the
LibriSpeech normalization: upper case letters, apostrophes and single spaces.
"""
from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from asrlab.data.synth.lexicon import (
    MODALS, NUMBERS, POSSESSIVES, PREPOSITIONS, PRONOUNS, TIMES, VOWELS, Lexicon, load_lexicon,
)  # fmt: skip
from asrlab.text.normalize import normalize_transcript as course_normalize

# Slots: S subject, O object, P place phrase ("into the dark forest"), T time noun, A adjective,
# D adverb, N name, Vt/Vi past tense, Bt/Bi base form, M modal, Q plural noun phrase, R person noun.
TEMPLATES = (
    "{S} {Vi} {D}.",
    "{S} {Vi} {P}.",
    "{S} {Vt} {O}.",
    "{S} {Vt} {O} {P}.",
    "{S} {Vt} {O} {D}, and {S2} {Vi} {P}.",
    "when {S} {Vi} {P}, {S2} {Vt} {O}.",
    "{S} said that {S2} {M} {Bt} {O}.",
    "{S} could not {Bt} {O} because it was too {A}.",
    "it was a {A} {T}, and {S} {Vi} {D}.",
    "there were {Q} {P}.",
    "{N}'s {R} {Vt} {O} {P}.",
    "the {R}'s {Rn} was {A} and {A2}.",
    "i don't think we should {Bi} {P}, said {N}.",
    "{S} {Vi}, but {S2} didn't {Bt} {O}.",
    "have you ever seen such a {A} {Rn}?",
    "{S} was {A}, and {S2} was {A2}.",
    "{S} looked at {O} and {Vi} {D}.",
    "why did {S} {Bt} {O}?",
    "{S} {Vi} {P} before the {T} was over.",
    "{S} had never seen so many {A} {Qn}.",
    "it's a {A} {T}, isn't it?",
    "{S} wasn't {A}, so {S2} {Vt} {O}.",
    "after a {A} {T} {S} {Vi} {P} and {Vt2} {O}.",
    "{N} couldn't {Bi}, for {S2} had {Vt} {O}.",
    "if {S} {Vi} {P}, we'll {Bt} {O} {D}.",
    "the {A} {R} {Vi} {D} while {S2} {Vt} {O}.",
    "{S} {M} never {Bt} {O} again.",
    "i'm sure that {S} {Vt} {O}, said the {R}.",
)
TWO_SENTENCE_PROB = 0.3  # LibriSpeech segments often span two sentences
ADJ_PROB = 0.45  # how often a noun phrase gets an adjective
_SLOT = re.compile(r"\{(\w+?)(\d?)\}")


def normalize_transcript(text: str) -> str:
    """LibriSpeech-style transcript: the course normalization
    (:func:`asrlab.text.normalize.normalize_transcript`) in UPPER CASE."""
    return course_normalize(text).upper()


class BookSentences:
    """Random book-like sentences.

    Parameters
    ----------
    rng : the only source of randomness, so a seeded generator gives a reproducible stream.
    lexicon : word lists; the packaged ones by default.
    """

    def __init__(self, rng: np.random.Generator, lexicon: Lexicon | None = None) -> None:
        self.rng = rng
        self.lex = lexicon or load_lexicon()

    def _pick(self, items):
        return items[int(self.rng.integers(len(items)))]

    def _adj(self) -> str:
        return self._pick(self.lex.adjectives) + " " if self.rng.random() < ADJ_PROB else ""

    @staticmethod
    def _article(word: str) -> str:
        return "an" if word[0] in VOWELS else "a"

    def _noun_phrase(self, nouns) -> str:
        noun = self._pick(nouns)
        kind = self.rng.random()
        if kind < 0.15:  # plural: "many old stones", "the stones"
            det = self._pick(("the", "some", "many", "a few", "those") + NUMBERS)
            return f"{det} {self._adj()}{noun.plural}"
        phrase = self._adj() + noun.singular
        if kind < 0.55:
            return f"the {phrase}"
        if kind < 0.8:
            return f"{self._article(phrase)} {phrase}"
        return f"{self._pick(POSSESSIVES + ('this', 'that'))} {phrase}"

    def _subject(self) -> str:
        kind = self.rng.random()
        if kind < 0.35:
            return self._pick(PRONOUNS)
        if kind < 0.55:
            return self._pick(self.lex.names)
        return self._noun_phrase(self.lex.people)

    def _fill(self, slot: str) -> str:
        lex = self.lex
        fillers = {
            "S": self._subject,
            "O": lambda: self._noun_phrase(lex.things if self.rng.random() < 0.8 else lex.people),
            "P": lambda: f"{self._pick(PREPOSITIONS)} the {self._adj()}{self._pick(lex.places).singular}",
            "T": lambda: self._pick(TIMES),
            "A": lambda: self._pick(lex.adjectives),
            "D": lambda: self._pick(lex.adverbs),
            "N": lambda: self._pick(lex.names),
            "R": lambda: self._pick(lex.people).singular,
            "Rn": lambda: self._pick(lex.things).singular,
            "Vt": lambda: self._pick(lex.transitive).past,
            "Vi": lambda: self._pick(lex.intransitive).past,
            "Bt": lambda: self._pick(lex.transitive).base,
            "Bi": lambda: self._pick(lex.intransitive).base,
            "M": lambda: self._pick(MODALS),
            "Q": lambda: f"{self._pick(NUMBERS)} {self._adj()}{self._pick(lex.things).plural}",
            "Qn": lambda: self._pick(lex.things).plural,
        }
        return fillers[slot]()

    def sentence(self) -> str:
        """One sentence with punctuation, first letter capitalized."""
        template = self._pick(TEMPLATES)
        text = _SLOT.sub(lambda m: self._fill(m.group(1)), template)
        return text[0].upper() + text[1:]

    def utterance(self) -> str:
        """One or two sentences: the spoken text of one corpus utterance."""
        if self.rng.random() < TWO_SENTENCE_PROB:
            return f"{self.sentence()} {self.sentence()}"
        return self.sentence()


@lru_cache(maxsize=1)
def book_vocabulary() -> frozenset[str]:
    """Every lowercase word :class:`BookSentences` can emit (word lists plus template words)."""
    lex = load_lexicon()
    words = set(lex.vocabulary())
    words.update(f"{owner}'s" for owner in lex.names + tuple(noun.singular for noun in lex.people))  # the {N}'s/{R}'s slots
    for template in TEMPLATES:
        words.update(normalize_transcript(_SLOT.sub(" ", template)).lower().split())
    words.update(("the", "some", "many", "a", "few", "those", "an", "this", "that"))
    return frozenset(words)
