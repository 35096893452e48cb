"""What a generated corpus contains: utterances, hours, speakers and vocabulary per split.

Usage::

    summary = make_librispeech("data/synth-libri")
    print(summary)                       # a table
    summary.splits["train-clean"].hours
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class SplitSummary:
    utterances: int
    seconds: float
    speakers: int
    vocabulary: int  # distinct words in the transcripts (0 when there are none)

    @property
    def hours(self) -> float:
        return self.seconds / SECONDS_PER_HOUR

    @classmethod
    def of(cls, durations: Iterable[float], speakers: Iterable[object], transcripts: Iterable[str | None]) -> SplitSummary:
        durations = list(durations)
        words = {w.lower() for text in transcripts if text for w in text.split()}
        return cls(len(durations), float(sum(durations)), len(set(speakers)), len(words))


@dataclass(frozen=True)
class CorpusSummary:
    """Statistics of one generated corpus.

    Attributes
    ----------
    corpus : "librispeech", "hvb" or "custom".
    root : where it was written.
    seed : the generator seed.
    splits : split name -> :class:`SplitSummary`, in generation order.
    vocabulary : distinct words over all splits.
    """

    corpus: str
    root: Path
    seed: int
    splits: dict[str, SplitSummary] = field(default_factory=dict)
    vocabulary: int = 0

    @property
    def utterances(self) -> int:
        return sum(s.utterances for s in self.splits.values())

    @property
    def hours(self) -> float:
        return sum(s.seconds for s in self.splits.values()) / SECONDS_PER_HOUR

    @property
    def speakers(self) -> int:
        """Speakers over all splits (splits are speaker-disjoint where the format has splits)."""
        return sum(s.speakers for s in self.splits.values())

    def table(self) -> str:
        """A fixed-width table, one row per split and a total."""
        header = f"{'split':<14}{'utterances':>11}{'hours':>9}{'speakers':>10}{'vocabulary':>12}"
        rows = [f"{self.corpus} corpus at {self.root} (seed {self.seed})", header]
        for name, s in self.splits.items():
            rows.append(f"{name:<14}{s.utterances:>11}{s.hours:>9.3f}{s.speakers:>10}{s.vocabulary:>12}")
        rows.append(f"{'total':<14}{self.utterances:>11}{self.hours:>9.3f}{self.speakers:>10}{self.vocabulary:>12}")
        return "\n".join(rows)

    def __str__(self) -> str:
        return self.table()

    def to_dict(self) -> dict:
        return {
            "corpus": self.corpus, "root": str(self.root), "seed": self.seed, "vocabulary": self.vocabulary,
            "splits": {name: asdict(s) for name, s in self.splits.items()},
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict, root: Path | None = None) -> CorpusSummary:
        splits = {name: SplitSummary(**values) for name, values in data["splits"].items()}
        return cls(data["corpus"], Path(root or data["root"]), int(data["seed"]), splits, int(data["vocabulary"]))
