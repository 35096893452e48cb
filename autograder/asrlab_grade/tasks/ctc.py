"""Hidden grading tasks of the ``ctc`` assignment (instructor side; never released).

Five function tasks, one per graded test cell of ``solutions/ctc/ctc.ipynb``:

* ``test_ctc_forward`` / ``test_ctc_backward`` / ``test_soft_alignment`` -- compared with
  :mod:`asrlab.ctc.reference` on random trellises drawn from the run's secret seed: many
  with repeated labels (the skip rule), peaky posteriors (log domain needed), the tightest
  possible length ``T = min_frames`` and too few frames (``-inf`` everywhere at the end).
* ``test_greedy`` -- compared exactly with :func:`asrlab.decoding.ctc_greedy_ids`; the
  inputs have long runs of repeated frames and repeats separated by a blank.
* ``test_beam_search`` -- the best transcript compared exactly with
  :class:`asrlab.decoding.PrefixBeamSearchDecoder` on fixed inputs (simulated posteriors of
  fixed sentences in which the LM changes the answer); the word LM is estimated in the
  sandbox by the public adapter from plain text the grader sends.

Plausible wrong answers these cases catch (checked by ``autograder/tests/test_ctc_assignment.py``):
recursion off by one frame, a missing repeated-label rule, a beta that includes the
emission, probabilities instead of log-probabilities (float32 or float64), a soft alignment
that is not normalised by ``P(labels)``, a greedy decoder that does not merge repeats (or
merges them across blanks), and a beam search that ignores the LM or the word bonus, gets
the repeated-symbol rule wrong, ignores or misreads ``min_prob`` (and its argmax fallback),
scores empty words, drops ``<s>`` from the LM history, leaves ``</s>`` unweighted or uses
base-10 LM scores.
"""
from __future__ import annotations

from typing import List

import numpy as np

from asrlab.text import CharTokenizer
from asrlab_grade.compare import ArrayClose, Exact, LogArrayClose
from asrlab_grade.recipes import ctc as recipes
from asrlab_grade.recipes import source
from asrlab_grade.task import Assignment, Case, FunctionTask, Limits

TOKENIZER = CharTokenizer()              # the course vocabulary: ' (0), space (1), a..z (2..27), blank (28)
BLANK = TOKENIZER.blank
NUM_CLASSES = len(TOKENIZER)
SYMBOLS = list(TOKENIZER.symbols)

# ----------------------------------------------------------------------------- trellis inputs
def log_softmax(logits: np.ndarray) -> np.ndarray:
    return logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True)


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


def forward_cases(rng: np.random.Generator) -> List[Case]:
    return trellis_cases(rng, allow_short=True, very_peaky=True)


def backward_cases(rng: np.random.Generator) -> List[Case]:
    return trellis_cases(rng, allow_short=True, very_peaky=True)


def alignment_cases(rng: np.random.Generator) -> List[Case]:
    return trellis_cases(rng, allow_short=False)


def forward_reference(log_probs, labels, blank=BLANK):
    from asrlab.ctc import reference
    return reference.forward(log_probs, labels, blank)


def backward_reference(log_probs, labels, blank=BLANK):
    from asrlab.ctc import reference
    return reference.backward(log_probs, labels, blank)


def alignment_reference(log_probs, labels, blank=BLANK):
    from asrlab.ctc import reference
    return reference.soft_alignment(log_probs, labels, blank)


# ----------------------------------------------------------------------------- greedy
GREEDY_ADAPTER = source(recipes.greedy_adapter)


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


def greedy_reference(log_probs, blank):
    from asrlab.decoding import ctc_greedy_ids
    return [int(i) for i in ctc_greedy_ids(log_probs, None, blank)[0]]


# ----------------------------------------------------------------------------- beam search
BEAM_ADAPTER = source(recipes.beam_adapter)

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


def beam_reference(log_probs, lm_text, lm_order, beam_size, alpha, beta, min_prob):
    from asrlab.decoding import PrefixBeamSearchDecoder
    from asrlab.lm import estimate_kneser_ney

    lm = estimate_kneser_ney(lm_text, order=lm_order)
    decoder = PrefixBeamSearchDecoder(SYMBOLS, blank=BLANK, space=TOKENIZER.space, beam_size=beam_size, lm=lm, alpha=alpha,
                                      beta=beta, prune_threshold=min_prob, nbest=1)
    return decoder.search(log_probs)[0].text


# ----------------------------------------------------------------------------- the assignment
TRELLIS_FORBIDDEN = (
    "aten::ctc_loss", "aten::_ctc_loss",
    "asrlab.ctc.reference.forward", "asrlab.ctc.reference.backward", "asrlab.ctc.reference.soft_alignment",
    "asrlab.ctc.reference.log_likelihood", "asrlab.ctc.loss.ctc_loss",
)

ASSIGNMENT = Assignment(
    name="ctc",
    tasks=(
        FunctionTask(grade_id="test_ctc_forward", call="ctc_forward", cases=forward_cases,
                     reference=forward_reference, compare=LogArrayClose(rtol=1e-6, atol=1e-6),
                     forbidden=TRELLIS_FORBIDDEN, timeout_s=20.0, cpu_s=10.0,
                     hint="alpha[s, t] = logsumexp over the allowed predecessors at t-1 (s, s-1, and s-2 only "
                          "into a label that differs from the one two states back) + log_probs[t, ext[s]]"),
        FunctionTask(grade_id="test_ctc_backward", call="ctc_backward", cases=backward_cases,
                     reference=backward_reference, compare=LogArrayClose(rtol=1e-6, atol=1e-6),
                     forbidden=TRELLIS_FORBIDDEN, timeout_s=20.0, cpu_s=10.0,
                     hint="beta excludes the emission at frame t: beta[S-1, T-1] = beta[S-2, T-1] = 0 and "
                          "beta[s, t] = logsumexp over s' in (s, s+1, s+2 if allowed) of "
                          "beta[s', t+1] + log_probs[t+1, ext[s']]"),
        FunctionTask(grade_id="test_soft_alignment", call="soft_alignment", cases=alignment_cases,
                     reference=alignment_reference,
                     compare=ArrayClose(rtol=1e-5, atol=1e-7, dtype="kind", container="either"),
                     forbidden=TRELLIS_FORBIDDEN, timeout_s=20.0, cpu_s=10.0,
                     hint="gamma = exp(alpha + beta - log P(labels)); every column sums to 1"),
        FunctionTask(grade_id="test_greedy", call="greedy_decode", cases=greedy_cases,
                     reference=greedy_reference, compare=Exact(), adapter=GREEDY_ADAPTER,
                     forbidden=("asrlab.decoding.ctc_greedy.ctc_greedy_ids",
                                "asrlab.decoding.ctc_greedy.GreedyCTCDecoder.decode_ids",
                                "asrlab.ctc.reference.collapse_path"),
                     timeout_s=10.0, cpu_s=5.0,
                     hint="argmax per frame, merge runs of equal frames, then drop blanks "
                          "(a blank between two equal symbols keeps both)"),
        FunctionTask(grade_id="test_beam_search", call="prefix_beam_search", cases=beam_cases,
                     reference=beam_reference, compare=Exact(), adapter=BEAM_ADAPTER,
                     forbidden=("asrlab.decoding.ctc_beam.PrefixBeamSearchDecoder._search",
                                "asrlab.decoding.ctc_beam.PrefixBeamSearchDecoder.decode_nbest"),
                     timeout_s=60.0, cpu_s=30.0,
                     hint="keep p_blank and p_non_blank per prefix, rank prefixes by log(p_b + p_nb) plus the "
                          "LM score of the words they have completed, and score the last word and </s> at the end"),
    ),
    ci_minutes=0.5,
    limits=Limits(notebook_wall_s=420.0, notebook_cpu_s=420, cell_timeout_s=120.0, memory_mb=3072,
                  disk_mb=128, max_restarts=6),
    hidden_packages=("asrlab.ctc",),   # the reference forward/backward: not even readable
)
