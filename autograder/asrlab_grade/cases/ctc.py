"""Hidden inputs and references of the ``ctc`` assignment's tasks (see ``tasks/ctc.py``).

Trellises (random, with repeated labels, peaky, tightest and too short), greedy-decoding frames with runs
and blank-separated repeats, and fixed beam-search inputs: simulated posteriors of sentences an LM repairs.
"""
from __future__ import annotations

from typing import List

import numpy as np

from asrlab.text import CharTokenizer
from asrlab_grade.cases.common import log_softmax
from asrlab_grade.task import Case

TOKENIZER = CharTokenizer()              # the course vocabulary: ' (0), space (1), a..z (2..27), blank (28)
BLANK = TOKENIZER.blank
NUM_CLASSES = len(TOKENIZER)
SYMBOLS = list(TOKENIZER.symbols)


# ----------------------------------------------------------------------------- trellises
def labels_with_repeats(rng: np.random.Generator, length: int, num_classes: int, blank: int,
                        repeat_prob: float) -> np.ndarray:
    """``length`` labels (never the blank) where each label repeats the previous one with
    probability ``repeat_prob``."""
    choices = np.array([c for c in range(num_classes) if c != blank])
    out = [int(rng.choice(choices))]
    while len(out) < length:
        out.append(out[-1] if rng.random() < repeat_prob else int(rng.choice(choices)))
    return np.array(out, dtype=np.int64)


def min_frames(labels: np.ndarray) -> int:
    return int(len(labels) + np.count_nonzero(labels[1:] == labels[:-1]))


def trellis_cases(rng: np.random.Generator, allow_short: bool, very_peaky: bool = False) -> List[Case]:
    """Public example first, then random hidden cases.

    Every hidden case has at least one pair of adjacent equal labels except two (plain
    alignment), so a missing skip rule fails most of them. ``very_peaky`` adds long, confident
    trellises whose path probabilities underflow even float64 (a recursion in probabilities
    fails them whatever its dtype).
    """
    tiny = np.log(np.array([[0.5, 0.3, 0.2], [0.4, 0.4, 0.2], [0.3, 0.2, 0.5], [0.6, 0.2, 0.2]]))
    cases = [Case((tiny, np.array([1, 1], dtype=np.int64)), {"blank": 0},
                  name="T=4, 3 classes, labels [1, 1], blank=0", hidden=False)]
    # (T, L, repeat_prob, logit scale, num_classes, blank)
    specs = [
        (12, 4, 0.5, 2.0, NUM_CLASSES, BLANK),
        (30, 8, 0.4, 3.0, NUM_CLASSES, BLANK),
        (50, 12, 0.3, 2.0, NUM_CLASSES, BLANK),
        (20, 6, 0.0, 2.0, NUM_CLASSES, BLANK),      # no repeats
        (40, 10, 0.5, 12.0, NUM_CLASSES, BLANK),    # peaky: probabilities underflow
        (15, 5, 0.6, 1.0, 6, 0),                    # blank first, small vocabulary
        (9, 3, 0.0, 1.5, 4, 3),
        (1, 1, 0.0, 1.0, NUM_CLASSES, BLANK),       # a single frame
    ]
    if very_peaky:
        specs += [(120, 30, 0.3, 30.0, NUM_CLASSES, BLANK), (200, 40, 0.4, 60.0, NUM_CLASSES, BLANK)]
    for frames, length, rep, scale, classes, blank in specs:
        labels = labels_with_repeats(rng, length, classes, blank, rep)
        if rep > 0 and not np.any(labels[1:] == labels[:-1]):
            labels[1] = labels[0]
        frames = max(frames, min_frames(labels))
        lp = log_softmax(rng.normal(scale=scale, size=(frames, classes)))
        cases.append(Case((lp, labels), {"blank": blank}))
    # the tightest length: every frame is forced, a repeat needs its blank
    labels = labels_with_repeats(rng, 6, NUM_CLASSES, BLANK, 0.5)
    labels[3] = labels[2]
    cases.append(Case((log_softmax(rng.normal(scale=2.0, size=(min_frames(labels), NUM_CLASSES))), labels),
                      {"blank": BLANK}))
    if allow_short:  # too few frames: no alignment, log P = -inf
        labels = np.array([5, 5, 5, 9], dtype=np.int64)
        cases.append(Case((log_softmax(rng.normal(size=(5, NUM_CLASSES))), labels), {"blank": BLANK}))
    return cases


def peaky_trellis_cases(rng: np.random.Generator) -> List[Case]:
    """The forward and backward tasks' cases: short trellises and ones that underflow float64."""
    return trellis_cases(rng, allow_short=True, very_peaky=True)


def alignment_cases(rng: np.random.Generator) -> List[Case]:
    return trellis_cases(rng, allow_short=False)


# ----------------------------------------------------------------------------- greedy
def frames_from_path(rng: np.random.Generator, path: List[int], classes: int, peak: float) -> np.ndarray:
    logits = rng.normal(size=(len(path), classes))
    logits[np.arange(len(path)), path] += peak
    return log_softmax(logits)


def greedy_cases(rng: np.random.Generator) -> List[Case]:
    public = frames_from_path(np.random.default_rng(0), [BLANK, 9, 9, BLANK, 9, 2, 2, BLANK], NUM_CLASSES, 6.0)
    cases = [Case((public, BLANK), name="frames _ h h _ h a a _ (expects [9, 9, 2])", hidden=False)]
    for frames, classes, blank in [(40, NUM_CLASSES, BLANK), (80, NUM_CLASSES, BLANK), (25, 5, 0)]:
        # runs of 1-4 equal frames; some runs repeat the previous symbol after a blank
        path: List[int] = []
        while len(path) < frames:
            sym = int(rng.integers(classes))
            if path and rng.random() < 0.3:
                sym = blank
            if len(path) >= 2 and path[-1] == blank and rng.random() < 0.3:
                sym = path[-2]
            path += [sym] * int(rng.integers(1, 5))
        cases.append(Case((frames_from_path(rng, path[:frames], classes, 5.0), blank)))
    cases.append(Case((log_softmax(rng.normal(size=(30, NUM_CLASSES))), BLANK)))  # plain noise
    cases.append(Case((frames_from_path(rng, [BLANK] * 6, NUM_CLASSES, 5.0), BLANK)))  # only blanks
    return cases


def greedy_reference(log_probs: np.ndarray, blank: int) -> List[int]:
    from asrlab.decoding import ctc_greedy_ids
    return [int(i) for i in ctc_greedy_ids(log_probs, None, blank)[0]]


# ----------------------------------------------------------------------------- beam search
# The LM text: a fixed small world in which some word sequences are far likelier than others.
LM_TEXT = [
    "the cat sat on the mat", "the cat sat on the hat", "a cat sat on a mat", "the dog sat on the mat",
    "the cat ate the rat", "the dog ate the bone", "the rat ran to the barn", "a bat flew over the barn",
    "the man read a book", "the man fed the cat", "the cat saw the dog", "the dog saw the cat",
    "we read the book", "we fed the dog", "the bird sang a song", "the bird sat on the wire",
    "she sold the boat", "he sold the goat", "the goat ate the grass", "the boat sank in the lake",
] * 2
# (sentence, characters shown as a close-but-wrong letter, extra argument overrides)
BEAM_SENTENCES = [
    ("the cat sat on the mat", {4: "k", 12: "i"}),
    ("the dog ate the bone", {5: "u", 15: "p"}),
    ("we read the book", {3: "l", 12: "p"}),
    ("the bird sang a song", {9: "z"}),
    ("she sold the goat", {13: "k"}),
    ("the rat ran to the barn", {6: "d"}),
]
SIMULATION_SEED = 1234  # fixed: the beam-search inputs are the same in every run


def simulate_log_probs(text: str, wrong: dict, rng: np.random.Generator) -> np.ndarray:
    """Posteriors (T, 29) for ``text``; characters at the positions in ``wrong`` are scored
    a little below the given look-alike letter, so greedy decoding misspells them."""
    index = {s: i for i, s in enumerate(SYMBOLS)}
    rows = []

    def emit(scores: dict) -> None:
        logits = rng.normal(scale=0.7, size=NUM_CLASSES)
        for k, v in scores.items():
            logits[k] += v
        rows.append(logits)

    for _ in range(2):
        emit({BLANK: 7.0})
    for pos, ch in enumerate(text):
        for _ in range(int(rng.integers(1, 3))):
            if pos in wrong:
                emit({index[ch]: 6.0, index[wrong[pos]]: 6.0 + rng.uniform(0.3, 1.2)})
            else:
                emit({index[ch]: 7.0})
        if rng.random() < 0.5 or (pos + 1 < len(text) and text[pos + 1] == ch):
            emit({BLANK: 7.0})
    emit({BLANK: 7.0})
    return log_softmax(np.stack(rows))


def small_alphabet_log_probs(rng: np.random.Generator, frames: int) -> np.ndarray:
    """(frames, 29) posteriors in which only 'a', 'b' and the blank are likely: with the LM off,
    the best labelling hinges on how a repeated symbol is merged or extended."""
    probs = np.full((frames, NUM_CLASSES), 1e-6)
    probs[:, [SYMBOLS.index("a"), SYMBOLS.index("b"), BLANK]] = rng.dirichlet(np.full(3, 0.6), size=frames)
    return np.log(probs / probs.sum(axis=1, keepdims=True))


def diffuse_log_probs(rng: np.random.Generator, frames: int, peak_every: int) -> np.ndarray:
    """Near-flat frames (every class close to 1/29) with a confident frame every ``peak_every``:
    ``min_prob`` decides which classes a flat frame may extend with, or that none reaches it."""
    logits = rng.normal(scale=0.15, size=(frames, NUM_CLASSES))
    for t in range(0, frames, peak_every):
        logits[t, int(rng.integers(NUM_CLASSES))] += 4.0
    return log_softmax(logits)


def with_flat_gaps(log_probs: np.ndarray, rng: np.random.Generator, every: int) -> np.ndarray:
    """Insert a near-flat frame after every ``every`` frames of ``log_probs``."""
    rows = []
    for t, row in enumerate(log_probs):
        rows.append(row)
        if t % every == every - 1:
            rows.append(log_softmax(rng.normal(scale=0.3, size=NUM_CLASSES)))
    return np.stack(rows)


# (sentence, characters shown as a close-but-wrong letter): decoded with the LM from the start of the
# sentence, so the history must begin with <s> for the first words to score as the reference does.
START_SENTENCES = [
    ("a bat flew over the barn", {0: "e", 2: "p"}),
    ("we fed the dog", {0: "b", 3: "v"}),
]
# Texts with doubled, leading and trailing spaces: an empty "word" must never reach the LM.
SPACED_TEXTS = [" the  cat sat on  the mat ", "the dog  ate the  bone"]


def beam_cases(rng: np.random.Generator) -> List[Case]:
    """Fixed inputs (the same in every run), each aimed at one rule of the search.

    Six misspelt sentences the LM repairs; noise (many prefixes compete); a sentence whose end
    is decided by ``</s>``; with the LM off, small-alphabet posteriors (the repeat rule alone);
    near-flat frames with ``min_prob`` keeping some classes or none (the argmax fallback);
    spoken sentences with flat gaps; texts with doubled spaces; sentences whose first words
    need the ``<s>`` history; a last word decided by a weakly weighted ``</s>``.
    """
    sim = np.random.default_rng(SIMULATION_SEED)
    inputs = [simulate_log_probs(text, wrong, sim) for text, wrong in BEAM_SENTENCES]
    noise = log_softmax(sim.normal(scale=2.0, size=(25, NUM_CLASSES)))
    # "a cat sat on a mat" with some a's heard as e's: only the score of </s> prefers "mat" to "met" here
    end_rng = np.random.default_rng(7)
    end_text = "a cat sat on a mat"
    end_wrong = {i: "e" for i, c in enumerate(end_text) if c == "a" and end_rng.random() < 0.5}
    end_case = simulate_log_probs(end_text, end_wrong, end_rng)
    # (inputs, lm order, beam, alpha, beta, min_prob)
    settings = [
        (inputs[0], 2, 8, 0.8, 1.0, 1e-3),
        (inputs[1], 2, 8, 0.8, 1.0, 1e-3),
        (inputs[2], 3, 8, 1.0, 0.5, 1e-3),
        (inputs[3], 2, 4, 0.8, 2.0, 1e-3),
        (inputs[4], 2, 8, 0.0, 0.0, 1e-3),    # no LM weight: acoustic beam search only
        (inputs[5], 2, 6, 0.6, -1.0, 0.0),    # no token pruning, a word penalty
        (noise, 2, 8, 0.5, 1.0, 0.0),         # flat posteriors: many prefixes compete
        (noise, 2, 8, 0.5, 4.0, 0.0),         # a large word bonus favours many short words
        (noise, 2, 8, 0.0, 4.0, 0.0),         # a word bonus without LM weight still counts words
        (end_case, 2, 8, 0.8, 1.0, 1e-3),     # the end of sentence decides
    ]
    for frames in (8, 10, 12, 14):            # LM off: the repeat rule decides
        settings.append((small_alphabet_log_probs(sim, frames), 2, 16, 0.0, 0.0, 1e-3))
    for min_prob in (0.05, 0.2):              # some classes pass the threshold / none does
        settings.append((diffuse_log_probs(sim, 14, 4), 2, 8, 0.5, 1.0, min_prob))
    gapped = with_flat_gaps(simulate_log_probs("the dog saw the cat", {4: "b"}, sim), sim, 3)
    settings.append((gapped, 2, 8, 0.8, 1.0, 0.3))
    for text in SPACED_TEXTS:
        settings.append((simulate_log_probs(text, {}, sim), 2, 8, 0.8, 1.0, 1e-3))
    for text, wrong in START_SENTENCES:
        settings.append((simulate_log_probs(text, wrong, sim), 2, 8, 1.0, 0.5, 1e-3))
    # "mat" heard a little as "met": ln P(</s> | word), weighted by alpha like every LM term, decides
    for seed, alpha, beta in ((1, 0.3, 1.0), (5, 0.0, 0.0)):
        weak_end = simulate_log_probs("the dog sat on the mat", {20: "e"}, np.random.default_rng(seed))
        settings.append((weak_end, 2, 8, alpha, beta, 1e-3))
    cases = []
    for k, (lp, order, beam, alpha, beta, min_prob) in enumerate(settings):
        cases.append(Case((lp, LM_TEXT, order, beam, alpha, beta, min_prob),
                          name=f"beam case {k}", hidden=k > 0))
    return cases


def beam_reference(log_probs: np.ndarray, lm_text: List[str], lm_order: int, beam_size: int, alpha: float, beta: float,
                   min_prob: float) -> str:
    from asrlab.decoding import PrefixBeamSearchDecoder
    from asrlab.lm import estimate_kneser_ney

    lm = estimate_kneser_ney(lm_text, order=lm_order)
    decoder = PrefixBeamSearchDecoder(SYMBOLS, blank=BLANK, space=TOKENIZER.space, beam_size=beam_size, lm=lm, alpha=alpha,
                                      beta=beta, prune_threshold=min_prob, nbest=1)
    return decoder.search(log_probs)[0].text
