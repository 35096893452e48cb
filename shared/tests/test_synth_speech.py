"""Speech side of the synthetic corpora: eSpeak binding, speakers, effects, reproducible rendering."""
from __future__ import annotations

import numpy as np
import pytest

from asrlab.data.synth import effects
from asrlab.data.synth.espeak import Voice, synthesize
from asrlab.data.synth.render import RenderJob, render_chunks
from asrlab.data.synth.speakers import sample_speakers

SHORT = "the cat sat on the mat."
LONG = "the old sailor walked slowly along the quiet river, and he thought about his brother's ship for a long time."


def _speakers(count: int = 8, seed: int = 0):
    return sample_speakers(count, np.random.default_rng(seed))


def test_synthesize_returns_nonsilent_float_audio_whose_length_follows_the_text():
    voice = _speakers(1)[0].voice
    short, sr = synthesize(SHORT, voice)
    long, _ = synthesize(LONG, voice)
    assert sr == 22050 and short.dtype == np.float32 and short.ndim == 1
    assert 0.05 < np.abs(long).max() <= 1.0 and np.sqrt(np.mean(long**2)) > 0.01
    ratio = (len(long) / len(short)) / (len(LONG) / len(SHORT))
    assert 0.6 < ratio < 1.4  # duration roughly proportional to the text


def test_speaking_rate_changes_duration():
    slow, _ = synthesize(LONG, Voice(rate=120))
    fast, _ = synthesize(LONG, Voice(rate=240))
    assert len(slow) > 1.5 * len(fast)


def test_bad_input_is_rejected_with_a_clear_message():
    with pytest.raises(ValueError, match="rate"):
        Voice(rate=10)
    with pytest.raises(ValueError, match="flutter 0"):
        Voice(variant="pitch 100 150")
    with pytest.raises(ValueError, match="empty"):
        synthesize("   ")
    with pytest.raises(TypeError, match="str"):
        synthesize(b"bytes")  # type: ignore[arg-type]


def test_at_least_eight_distinct_speakers_with_numeric_ids():
    speakers = _speakers(12)
    assert len({s.speaker_id for s in speakers}) == 12 and all(isinstance(s.speaker_id, int) for s in speakers)
    assert len({s.voice for s in speakers}) == 12
    assert {s.sex for s in speakers} == {"male", "female"}
    assert _speakers(12) == speakers and _speakers(12, seed=1) != speakers


def test_speakers_sound_different():
    """Male and female voices differ in spectral centroid (pitch and formants), not just in name."""
    speakers = _speakers(4)
    centroids = {}
    for s in speakers:
        wav, sr = synthesize(LONG, s.voice)
        spec = np.abs(np.fft.rfft(wav))
        freqs = np.fft.rfftfreq(len(wav), 1 / sr)
        centroids.setdefault(s.sex, []).append(float((spec * freqs).sum() / spec.sum()))
    assert min(centroids["female"]) > max(centroids["male"])


def test_add_noise_hits_the_requested_snr():
    rng = np.random.default_rng(0)
    clean, _ = synthesize(LONG, _speakers(1)[0].voice)
    for color in effects.NOISE_COLORS:
        noisy = effects.add_noise(clean, 15.0, rng, color)
        assert effects.measured_snr_db(clean, noisy) == pytest.approx(15.0, abs=0.3)
    with pytest.raises(ValueError, match="noise color"):
        effects.colored_noise(100, "purple", rng)


def test_event_sounds_exist_for_every_silent_token():
    from asrlab.data.synth.banking import SILENT_TOKENS

    rng = np.random.default_rng(0)
    for token in SILENT_TOKENS:
        sound = effects.event_sound(token, 8000, rng)
        assert sound.ndim == 1 and 0.1 * 8000 < len(sound) < 1.0 * 8000
        assert np.abs(sound).max() == pytest.approx(effects.EVENT_LEVEL, rel=1e-3)
    with pytest.raises(ValueError, match=r"\[noise\]"):
        effects.event_sound("[unknown]", 8000, rng)


def test_rendering_is_identical_for_any_worker_count_and_changes_with_the_seed():
    speakers = _speakers(3)
    texts = [SHORT, LONG, SHORT, "a brave knight rode home.", LONG]
    jobs = [
        RenderJob(str(i), text, speakers[i % 3].voice, 16000, seed=100 + i, snr_db=12.0 if i == 2 else None)
        for i, text in enumerate(texts)
    ]
    jobs.append(RenderJob("reseeded", SHORT, speakers[0].voice, 16000, seed=999))  # job "0" with another seed
    chunks = [jobs[:2], jobs[2:4], jobs[4:]]
    one = {r.key: r.wav for rs in render_chunks(chunks, workers=1) for r in rs}
    two = {r.key: r.wav for rs in render_chunks(chunks[::-1], workers=2) for r in rs}  # other order and processes
    assert one.keys() == two.keys()
    for key, wav in one.items():
        assert wav.dtype == np.float32 and np.array_equal(wav, two[key]), key
    assert not np.array_equal(one["reseeded"], one["0"])
    with pytest.raises(ValueError, match="workers"):
        render_chunks(chunks, workers=0)


def test_a_failing_worker_raises_instead_of_hanging():
    bad = [[RenderJob("empty", "   ", Voice(), 16000, seed=0)]]
    with pytest.raises(RuntimeError, match="text is empty"):
        list(render_chunks(bad, workers=1))


def test_many_voice_variants_leave_no_files_and_never_hide_the_languages():
    """eSpeak lists at most 350 files of voices/ (variants included) before lang/ on every selection:
    variant files that pile up make "en" unknown. Each variant's file is removed after its selection."""
    from asrlab.data.synth.espeak import engine

    for k in range(400):
        voice = Voice(variant=f"flutter 0\npitch {60 + k % 40} {100 + k // 40}\n")
        assert synthesize("a", voice)[0].size > 0
    variants = engine()._data / "voices" / "!v"
    assert not list(variants.iterdir())
    assert synthesize("hello", Voice(language="en"))[0].size > 0
