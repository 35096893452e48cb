"""Synthetic speaker identities: accent, sex, pitch, vocal-tract length and speaking style.

Usage::

    rng = np.random.default_rng(0)
    speakers = sample_speakers(8, rng)          # 8 distinct identities with numeric ids
    speakers[0].voice                           # an espeak.Voice

A speaker is an eSpeak voice variant written by us: the vocal-tract length is modelled by scaling
all formant frequencies together (longer tract -> lower formants), on top of per-formant jitter,
a pitch range for the sex, a speaking rate and an intonation range.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asrlab.data.synth.espeak import Voice

# Accents eSpeak speaks intelligibly, with how often a speaker has each.
ACCENTS = ("en-us", "en", "en-gb-x-rp")
ACCENT_WEIGHTS = (0.6, 0.25, 0.15)
SEXES = ("male", "female")

# Ranges of natural adult voices (Hz for pitch; percent of eSpeak's default formants).
PITCH_BASE_HZ = {"male": (72, 105), "female": (150, 200)}
PITCH_SPAN_HZ = {"male": (30, 55), "female": (50, 90)}
TRACT_SCALE = {"male": (0.94, 1.03), "female": (1.07, 1.17)}
FORMANT_JITTER = 0.03  # per-formant relative deviation
FORMANT_HEIGHT = (92, 108)  # percent
NUM_FORMANTS = 5  # formants 1..5 shape vowel quality; 6..8 are fixed high-frequency peaks

RATE_WPM = (140, 185)  # moderate speaking rates keep the speech easy to recognize
PITCH_RANGE = (35, 75)  # intonation liveliness, 50 = eSpeak default
WORD_GAP = (0, 1)  # extra 10 ms units between words

SPEAKER_ID_RANGE = (19, 9000)  # LibriSpeech-like numeric ids


@dataclass(frozen=True)
class Speaker:
    """One synthetic speaker.

    Attributes
    ----------
    speaker_id : numeric id, unique within a corpus.
    sex : "male" or "female".
    voice : the eSpeak voice that renders this speaker.
    """

    speaker_id: int
    sex: str
    voice: Voice

    def describe(self) -> str:
        """One line for manifests: ``1234 female en-us 160wpm``."""
        return f"{self.speaker_id} {self.sex} {self.voice.language} {self.voice.rate}wpm"


def _variant_text(sex: str, rng: np.random.Generator) -> str:
    """An eSpeak voice-variant file body for a new identity of ``sex``."""
    base = int(rng.integers(*PITCH_BASE_HZ[sex], endpoint=True))
    span = int(rng.integers(*PITCH_SPAN_HZ[sex], endpoint=True))
    tract = rng.uniform(*TRACT_SCALE[sex])
    lines = [f"gender {sex}", f"pitch {base} {base + span}", "flutter 0"]
    for formant in range(1, NUM_FORMANTS + 1):
        freq = round(100 * tract * (1 + rng.uniform(-FORMANT_JITTER, FORMANT_JITTER)))
        height = int(rng.integers(*FORMANT_HEIGHT, endpoint=True))
        lines.append(f"formant {formant} {freq} {height} 100")
    return "\n".join(lines)


def sample_speaker(speaker_id: int, rng: np.random.Generator, sex: str | None = None) -> Speaker:
    """Draw one identity from the voice distribution; ``sex=None`` draws the sex too."""
    if sex is None:
        sex = SEXES[int(rng.integers(len(SEXES)))]
    elif sex not in SEXES:
        raise ValueError(f"sex must be one of {SEXES}, got {sex!r}")
    accent = ACCENTS[int(rng.choice(len(ACCENTS), p=ACCENT_WEIGHTS))]
    variant = _variant_text(sex, rng)
    voice = Voice(
        language=accent,
        variant=variant,
        rate=int(rng.integers(*RATE_WPM, endpoint=True)),
        pitch=50,
        pitch_range=int(rng.integers(*PITCH_RANGE, endpoint=True)),
        word_gap=int(rng.integers(*WORD_GAP, endpoint=True)),
    )
    return Speaker(speaker_id=speaker_id, sex=sex, voice=voice)


def sample_speaker_ids(count: int, rng: np.random.Generator) -> list[int]:
    """``count`` distinct LibriSpeech-like numeric speaker ids, in random order."""
    low, high = SPEAKER_ID_RANGE
    if not 0 < count <= high - low:
        raise ValueError(f"count must be in [1, {high - low}] speakers, got {count}")
    return [int(i) for i in rng.choice(np.arange(low, high), size=count, replace=False)]


def sample_speakers(count: int, rng: np.random.Generator) -> list[Speaker]:
    """``count`` distinct speakers with distinct numeric ids.

    The sex alternates so that every run of consecutive speakers (one split) is balanced.
    """
    ids = sample_speaker_ids(count, rng)
    return [sample_speaker(speaker_id, rng, SEXES[index % len(SEXES)]) for index, speaker_id in enumerate(ids)]
