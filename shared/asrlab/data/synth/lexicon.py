"""The English word lists behind the synthetic book sentences, grouped by part of speech.

Usage::

    lex = load_lexicon()
    lex.things[0]            # Noun(singular='book', plural='books')
    len(lex.vocabulary())    # every word form the generator can emit (> 1000)

The lists live next to this module as ``<part of speech>.txt`` files, one entry per line:
nouns as ``singular [plural]`` (plural given only when irregular), verbs as ``base past``.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

WORDS_DIR = Path(__file__).parent

# Closed word classes: small and fixed, so they live in code.
PRONOUNS = ("he", "she", "they", "we", "i", "you")
POSSESSIVES = ("his", "her", "their", "our", "my", "your")
PREPOSITIONS = ("into", "across", "toward", "through", "along", "over", "under", "behind", "beside", "near", "around", "past", "beyond", "to", "from", "inside")
NUMBERS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "twenty", "a hundred")
TIMES = ("morning", "evening", "night", "day", "week", "month", "year", "summer", "winter", "spring", "autumn", "hour", "moment", "afternoon")
MODALS = ("would", "could", "should", "must", "might", "will", "can")
VOWELS = "aeiou"


@dataclass(frozen=True)
class Noun:
    singular: str
    plural: str


@dataclass(frozen=True)
class Verb:
    base: str
    past: str


def pluralize(noun: str) -> str:
    """Regular English plural (irregular ones are listed in the word files)."""
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in VOWELS:
        return noun[:-1] + "ies"
    return noun + "s"


def _entries(name: str) -> list[list[str]]:
    path = WORDS_DIR / f"{name}.txt"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: word list missing; reinstall asrlab (the .txt files are package data)")
    rows, seen = [], set()
    for line_no, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#") or line in seen:
            continue
        if not all(part.isalpha() and part.islower() for part in line.split()):
            raise ValueError(f"{path}:{line_no}: entries must be lowercase letters, got {line!r}")
        seen.add(line)
        rows.append(line.split())
    return rows


def _nouns(name: str) -> tuple[Noun, ...]:
    return tuple(Noun(row[0], row[1] if len(row) > 1 else pluralize(row[0])) for row in _entries(name))


def _verbs(name: str) -> tuple[Verb, ...]:
    rows = _entries(name)
    bad = [row for row in rows if len(row) != 2]
    if bad:
        raise ValueError(f"{WORDS_DIR / name}.txt: verb lines must be 'base past', got {bad[0]}")
    return tuple(Verb(*row) for row in rows)


@dataclass(frozen=True)
class Lexicon:
    people: tuple[Noun, ...]
    things: tuple[Noun, ...]
    places: tuple[Noun, ...]
    transitive: tuple[Verb, ...]
    intransitive: tuple[Verb, ...]
    adjectives: tuple[str, ...]
    adverbs: tuple[str, ...]
    names: tuple[str, ...]

    def head(self, n: int) -> "Lexicon":
        """The first ``n`` entries of every open word list: a small-vocabulary world (about 10 n words).

        Small worlds let a model learn the spelling of every word in minutes on a CPU, which
        is what reduced (CI) training budgets need; the closed classes stay complete.
        """
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive number of entries per word list, got {n!r}")
        return Lexicon(self.people[:n], self.things[:n], self.places[:n], self.transitive[:n],
                       self.intransitive[:n], self.adjectives[:n], self.adverbs[:n], self.names[:n])

    def vocabulary(self) -> set[str]:
        """Every word the book-sentence generator can produce."""
        words: set[str] = set()
        for nouns in (self.people, self.things, self.places):
            for noun in nouns:
                words.update((noun.singular, noun.plural))
        for verbs in (self.transitive, self.intransitive):
            for verb in verbs:
                words.update((verb.base, verb.past))
        words.update(self.adjectives, self.adverbs, self.names)
        for closed in (PRONOUNS, POSSESSIVES, PREPOSITIONS, NUMBERS, TIMES, MODALS):
            for phrase in closed:
                words.update(phrase.split())
        return words


@lru_cache(maxsize=1)
def load_lexicon() -> Lexicon:
    """Read the word lists once per process."""
    return Lexicon(
        people=_nouns("nouns_people"),
        things=_nouns("nouns_things"),
        places=_nouns("nouns_places"),
        transitive=_verbs("verbs_transitive"),
        intransitive=_verbs("verbs_intransitive"),
        adjectives=tuple(row[0] for row in _entries("adjectives")),
        adverbs=tuple(row[0] for row in _entries("adverbs")),
        names=tuple(row[0] for row in _entries("names")),
    )
