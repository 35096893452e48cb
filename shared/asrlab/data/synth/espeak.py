"""A ctypes binding to the eSpeak NG speech synthesizer shipped by the ``espeakng-loader`` wheel.

Usage::

    from asrlab.data.synth.espeak import Voice, synthesize
    wav, sr = synthesize("the quick brown fox", Voice(language="en-us", rate=160))  # (N,) float32, 22050 Hz

eSpeak NG is a process-global C library: one engine per process, calls serialized by a lock. For
parallel synthesis use processes, never threads.

Determinism. eSpeak's wave generator keeps a few static variables (pitch flutter index, phase) from
one utterance to the next, so the exact samples of an utterance depend on what the *process*
synthesized before. Two measures make corpus generation reproducible:

* every voice variant is written by asrlab with ``flutter 0`` (the flutter index is never reset);
* the corpus builder renders each fixed chunk of utterances in a fresh worker process, so a chunk's
  samples do not depend on how many workers ran or which chunks ran before.

A private copy of the English data files is kept in the system temp folder, because the speaker
variants are files that eSpeak only looks for inside its data directory.
"""
from __future__ import annotations

import ctypes
import getpass
import hashlib
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asrlab.errors import AsrlabError

# espeak_AUDIO_OUTPUT: deliver audio to a callback and return when synthesis is done.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
# espeak_PARAMETER ids
_PARAM_RATE = 1
_PARAM_VOLUME = 2
_PARAM_PITCH = 3
_PARAM_RANGE = 4
_PARAM_WORDGAP = 7

MIN_RATE, MAX_RATE = 80, 450  # words per minute accepted by eSpeak
VOLUME = 100  # eSpeak's default loudness; louder settings clip
INT16_SCALE = 32768.0

# Data files needed for English; everything else in the wheel (other languages) is left out.
_DATA_FILES = ("phondata", "phonindex", "phontab", "intonations", "en_dict")
_DATA_DIRS = ("lang/gmw",)  # the English language voices

_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class EspeakError(AsrlabError, RuntimeError):
    """eSpeak NG could not be loaded or refused a request."""


@dataclass(frozen=True)
class Voice:
    """Everything eSpeak needs to speak like one speaker.

    Attributes
    ----------
    language : eSpeak language voice, e.g. ``"en-us"``, ``"en"`` (British), ``"en-gb-x-rp"``.
    variant : text of an eSpeak voice-variant file (pitch, formants, ...) that must set ``flutter 0``;
        ``None`` for eSpeak's plain voice, whose pitch flutter makes samples depend on earlier calls.
    rate : speaking rate in words per minute (eSpeak default 175).
    pitch : 0-100, scales the variant's pitch (50 = as written).
    pitch_range : 0-100, intonation liveliness (0 = monotone, 50 = normal).
    word_gap : extra pause between words, in units of 10 ms.
    """

    language: str = "en-us"
    variant: str | None = None
    rate: int = 175
    pitch: int = 50
    pitch_range: int = 50
    word_gap: int = 0

    def __post_init__(self) -> None:
        if not MIN_RATE <= self.rate <= MAX_RATE:
            raise ValueError(f"Voice.rate must be in [{MIN_RATE}, {MAX_RATE}] words per minute, got {self.rate}")
        for name in ("pitch", "pitch_range"):
            value = getattr(self, name)
            if not 0 <= value <= 100:
                raise ValueError(f"Voice.{name} must be in [0, 100], got {value}")
        if self.word_gap < 0:
            raise ValueError(f"Voice.word_gap must be >= 0 (units of 10 ms), got {self.word_gap}")
        if self.variant is not None and "flutter 0" not in self.variant:
            # see the module docstring: flutter makes samples depend on earlier utterances
            raise ValueError("Voice.variant must contain the line 'flutter 0' so that synthesis is reproducible")

    @property
    def variant_name(self) -> str | None:
        """A name for the variant: a hash of its content."""
        if self.variant is None:
            return None
        return "asrlab" + hashlib.sha1(self.variant.encode()).hexdigest()[:12]


def _private_data_dir(source: Path) -> Path:
    """A writable copy of the English eSpeak data, shared by every process of this user.

    Built once per source directory under the system temp folder (renamed into place atomically,
    so concurrent first uses are safe); later processes only check that it exists.
    """
    user = os.getuid() if hasattr(os, "getuid") else getpass.getuser()
    stat = (source / "phondata").stat()  # a reinstalled eSpeak gets a fresh copy
    # "v2": copies made before variant files were removed after use may hold hundreds of them
    digest = hashlib.sha1(f"v2:{source.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:10]
    target = Path(tempfile.gettempdir()) / f"asrlab-espeak-{user}-{digest}" / "espeak-ng-data"
    if (target / "voices" / "!v").is_dir():
        return target
    staging = Path(tempfile.mkdtemp(prefix="asrlab-espeak-staging-")) / "espeak-ng-data"
    (staging / "voices" / "!v").mkdir(parents=True)
    for name in _DATA_FILES:
        shutil.copyfile(source / name, staging / name)
    for name in _DATA_DIRS:
        shutil.copytree(source / name, staging / name)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(staging, target)
    except OSError:  # another process got there first; its copy is identical
        pass
    shutil.rmtree(staging.parent, ignore_errors=True)
    return target


def _loader_paths() -> tuple[Path, Path]:
    try:
        import espeakng_loader
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise EspeakError("the package espeakng-loader is missing; install it with `pip install espeakng-loader`") from exc
    return Path(espeakng_loader.get_library_path()), Path(espeakng_loader.get_data_path())


class Espeak:
    """The process-wide eSpeak NG engine (use :func:`engine`, do not instantiate twice)."""

    def __init__(self) -> None:
        library_path, data_path = _loader_paths()
        try:
            self._lib = ctypes.CDLL(str(library_path))
        except OSError as exc:
            raise EspeakError(f"{library_path}: cannot load the eSpeak NG library ({exc}); reinstall espeakng-loader") from exc
        self._data = _private_data_dir(data_path)
        self._declare_signatures()
        self.sample_rate = self._lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, str(self._data).encode(), 0)
        if self.sample_rate <= 0:
            raise EspeakError(f"espeak_Initialize failed with data directory {self._data}")
        self._chunks: list[np.ndarray] = []
        self._callback = _CALLBACK(self._collect)  # keep a reference: C holds only the pointer
        self._lib.espeak_SetSynthCallback(self._callback)
        self._lock = threading.Lock()

    def _declare_signatures(self) -> None:
        lib = self._lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        self._set_rand_seed = getattr(lib, "espeak_ng_SetRandSeed", None)  # absent before eSpeak NG 1.51
        if self._set_rand_seed is not None:
            self._set_rand_seed.argtypes = [ctypes.c_long]
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
            ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]  # fmt: skip
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.restype = ctypes.c_int

    def _collect(self, samples: ctypes.POINTER(ctypes.c_short), count: int, _events: int) -> int:
        if count > 0:
            # copy now: eSpeak reuses the buffer for the next chunk
            self._chunks.append(np.frombuffer(ctypes.string_at(samples, count * ctypes.sizeof(ctypes.c_short)), dtype=np.int16))
        return 0  # 0 = continue synthesis

    def _select_voice(self, voice: Voice) -> None:
        """Make ``voice`` the current one (call with ``self._lock`` held).

        On every selection eSpeak lists the files of ``voices/`` and then ``lang/``, and stops at
        350 entries; variant files left behind would one day hide the languages themselves
        ("no voice 'en'"). So a variant is written to a file of this process alone, read by this
        one selection, and removed right after.
        """
        name = voice.language
        path = None
        if voice.variant is not None:
            variant = f"{voice.variant_name}p{os.getpid()}"
            path = self._data / "voices" / "!v" / variant
            path.write_text(f"language variant\nname {variant}\n{voice.variant}\n")
            name = f"{voice.language}+{variant}"
        try:
            found = self._lib.espeak_SetVoiceByName(name.encode()) == 0
        finally:
            if path is not None:
                path.unlink(missing_ok=True)
        if not found:
            raise EspeakError(f"eSpeak has no voice {voice.language!r}; use an English one such as 'en-us' or 'en'")

    def synthesize(self, text: str, voice: Voice, seed: int = 0) -> np.ndarray:
        """Speak ``text``; returns float32 samples in [-1, 1], shape (N,), at ``self.sample_rate``."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        if not text.strip():
            raise ValueError("text is empty; eSpeak needs at least one word to speak")
        with self._lock:
            self._select_voice(voice)
            for param, value in (
                (_PARAM_RATE, voice.rate), (_PARAM_VOLUME, VOLUME), (_PARAM_PITCH, voice.pitch),
                (_PARAM_RANGE, voice.pitch_range), (_PARAM_WORDGAP, voice.word_gap),
            ):  # fmt: skip
                self._lib.espeak_SetParameter(param, int(value), 0)
            if self._set_rand_seed is not None:
                self._set_rand_seed(int(seed))  # eSpeak's own noise sources draw from this generator
            data = text.encode("utf-8") + b"\0"
            self._chunks = []
            status = self._lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            if status != 0:
                raise EspeakError(f"espeak_Synth failed with status {status} for text {text[:60]!r}")
            self._lib.espeak_Synchronize()
            chunks, self._chunks = self._chunks, []
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(chunks).astype(np.float32) / INT16_SCALE  # (N,)


_ENGINE: Espeak | None = None
_ENGINE_LOCK = threading.Lock()


def engine() -> Espeak:
    """The engine of this process, created on first use."""
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            _ENGINE = Espeak()
        return _ENGINE


def engine_started() -> bool:
    """Whether this process has loaded eSpeak (its state would be copied into forked children)."""
    return _ENGINE is not None


def synthesize(text: str, voice: Voice = Voice(), seed: int = 0) -> tuple[np.ndarray, int]:
    """Speak ``text`` with ``voice``.

    Returns
    -------
    wav : np.ndarray, shape (N,), float32 in [-1, 1]
    sample_rate : int, eSpeak's native rate (22050 Hz)
    """
    eng = engine()
    return eng.synthesize(text, voice, seed), eng.sample_rate
