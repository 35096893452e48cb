"""Benchmark: CTC prefix beam search with a word n-gram LM vs. greedy decoding (and vs. pyctcdecode).

Steps: generate (or reuse) the synthetic LibriSpeech-style corpus, build a Kneser-Ney trigram from the
*train-clean* transcripts only, get CTC log-probabilities for *test-clean*, decode them greedily and with
:class:`asrlab.decoding.PrefixBeamSearchDecoder` + LM, and compare WER and speed. When pyctcdecode and kenlm
can be imported (here, or by the interpreter given with ``--pyctcdecode-python``), the same logits and ARPA
file are also decoded by pyctcdecode.

Where the log-probabilities come from (printed as ``logits:``):

* ``trained`` - a small convolutional CTC acoustic model trained on train-clean for a bounded time
  (``--logits trained``; model and logits are cached, so reruns are quick);
* ``simulated`` - :func:`simulated_ctc_log_probs`, which spreads each test transcript's characters over
  frames and makes some characters confusable with a similar one (the wrong one wins the argmax, the right
  one stays a close second). This exercises the decoders, not an acoustic model.

``--logits auto`` (default) uses cached trained logits when they exist (with ``--quick`` also those of the full
corpus) and the simulation otherwise.

Usage::

    python bench/beam_search.py --quick                 # < 60 s on 2 cores (small corpus)
    python bench/beam_search.py                         # 2 h corpus, alpha/beta tuned on dev-clean
    python bench/beam_search.py --logits trained --train-seconds 600
    python bench/beam_search.py --quick --pyctcdecode-python /tmp/pyctc_venv/bin/python

The last line is ``ratio: X`` with X = WER(beam + LM) / WER(greedy).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SYMBOLS = ["'", " ", *"abcdefghijklmnopqrstuvwxyz", "_"]  # the course character table, blank last
BLANK, SPACE = len(SYMBOLS) - 1, 1
LM_ORDER = 3
SEED = 0

# Letters a weak acoustic model mixes up (similar sounds / shapes).
CONFUSABLE = {
    "a": "e", "e": "i", "i": "e", "o": "u", "u": "o", "y": "i", "b": "p", "p": "b", "d": "t", "t": "d",
    "c": "k", "k": "c", "g": "k", "s": "z", "z": "s", "m": "n", "n": "m", "f": "v", "v": "f", "w": "v",
    "r": "l", "l": "r", "h": "e", "j": "g", "q": "k", "x": "s",
}
CONFUSION_RATE = 0.12  # share of confusable characters whose frames favour the wrong letter
CONFUSION_MARGIN = (0.1, 1.5)  # how much more the wrong letter scores (logit units)
PEAK_LOGIT = 9.0  # logit of the emitted symbol over the noise: peaky, like a trained CTC model
NOISE_SD = 1.0
FRAMES_PER_CHAR = (1, 3)
BLANKS_AFTER_CHAR = (0, 2)

OOV_PENALTY = -10.0  # nats per word outside the LM vocabulary (pyctcdecode's default unk offset is -10 too)
BEAM_THRESHOLD = 10.0  # drop prefixes 10 nats below the best (pyctcdecode: beam_prune_logp=-10)
TOKEN_MIN_PROB = 1e-3  # per-frame token pruning, same for both decoders

# --quick decodes at most max_test utterances (the first by utterance id) to stay under a minute.
QUICK = dict(hours=0.5, beam=16, alphas=(0.5,), betas=(1.5,), max_test=40)
FULL = dict(hours=2.0, beam=32, alphas=(0.3, 0.5, 0.8), betas=(0.5, 1.5, 3.0), max_test=None)


# ----------------------------------------------------------------------------------------------- data
def corpus_root(cache: Path, hours: float, seed: int) -> Path:
    return cache / f"synth-libri-{hours:g}h-seed{seed}"


def logits_cache(root: Path) -> Path:
    """Where the trained model's dev/test log-probabilities for the corpus at ``root`` are cached."""
    return root.parent / f"{root.name}-ctc-logits.npz"


def corpus_texts(cache: Path, hours: float, seed: int) -> tuple[Path, dict[str, list[tuple[str, str]]]]:
    """Generate (once) the synthetic corpus and return its transcripts per split, lower-cased."""
    from asrlab.data import scan_librispeech
    from asrlab.data.synth import make_librispeech

    root = corpus_root(cache, hours, seed)
    make_librispeech(root, hours=hours, seed=seed, progress=False)
    splits = {}
    for split in ("train-clean", "dev-clean", "test-clean"):
        splits[split] = [(u.utt_id, u.text.lower()) for u in scan_librispeech(root, split)]
    return root, splits


def simulated_ctc_log_probs(text: str, rng: np.random.Generator) -> np.ndarray:
    """Simulated CTC posteriors (T, C) for ``text``: NOT an acoustic model's output.

    Each character is emitted on 1-3 frames followed by 0-2 blank frames (at least one between equal
    letters); a confusable character is, with probability ``CONFUSION_RATE``, scored slightly below a
    similar letter on all its frames. Gaussian noise on every logit; log-softmax over classes.
    """
    index = {s: i for i, s in enumerate(SYMBOLS)}
    rows: list[np.ndarray] = []

    def frame(peak: dict[int, float]) -> None:
        logits = rng.normal(scale=NOISE_SD, size=len(SYMBOLS))  # (C,)
        for k, v in peak.items():
            logits[k] += v
        rows.append(logits)

    for _ in range(rng.integers(2, 6)):
        frame({BLANK: PEAK_LOGIT})
    for i, ch in enumerate(text):
        true = index[ch]
        wrong = CONFUSABLE.get(ch)
        confused = wrong is not None and rng.random() < CONFUSION_RATE
        margin = rng.uniform(*CONFUSION_MARGIN)
        for _ in range(rng.integers(FRAMES_PER_CHAR[0], FRAMES_PER_CHAR[1] + 1)):
            frame({true: PEAK_LOGIT, index[wrong]: PEAK_LOGIT + margin} if confused else {true: PEAK_LOGIT})
        min_blanks = 1 if i + 1 < len(text) and text[i + 1] == ch else BLANKS_AFTER_CHAR[0]
        for _ in range(rng.integers(min_blanks, BLANKS_AFTER_CHAR[1] + 1)):
            frame({BLANK: PEAK_LOGIT})
    for _ in range(rng.integers(2, 6)):
        frame({BLANK: PEAK_LOGIT})
    logits = np.stack(rows)  # (T, C)
    return (logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)).astype(np.float32)


def simulated_logits(utts: list[tuple[str, str]], seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [simulated_ctc_log_probs(text, rng) for _, text in utts]


# ----------------------------------------------------------------------------------------------- trained logits
MODEL_HIDDEN = 256
MODEL_BLOCKS = 5
MODEL_LR = 2e-3
BATCH_FRAMES = 12_000  # feature frames per training batch (utterances of similar length batched together)


def features(root: Path, split: str) -> tuple[list[str], list["torch.Tensor"]]:
    """Per-utterance (T, 80) log-Mel features with per-utterance CMVN, and the transcripts (lower case)."""
    import torch

    from asrlab.audio import load
    from asrlab.data import scan_librispeech
    from asrlab.features import LogMel, utterance_cmvn

    front_end = LogMel()
    texts, feats = [], []
    with torch.no_grad():
        for utt in scan_librispeech(root, split):
            wav, _ = load(utt.audio_path)
            f, n = front_end(torch.from_numpy(wav)[None])  # (1, T, 80)
            feats.append(utterance_cmvn(f, n)[0])
            texts.append(utt.text.lower())
    return texts, feats


def ctc_model(n_mels: int = 80, hidden: int = MODEL_HIDDEN) -> "torch.nn.Module":
    """Small convolutional CTC acoustic model for this benchmark (convolutions train fast on CPU, unlike RNNs).

    Not one of the course's reference models (:mod:`asrlab.models`, recurrent encoders): those are too slow to
    train within this benchmark's time budget on a shared 2-core CPU, and the benchmark only needs realistic
    log-probabilities to decode.

    A stride-2 convolution (20 ms frames) and residual convolution blocks with ~0.4 s of context, then a
    linear layer to the 29 symbols; output (B, T/2, C) log-probabilities.
    """
    import torch
    from torch import nn

    class SmallCTC(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.subsample = nn.Conv1d(n_mels, hidden, 5, stride=2, padding=2)
            self.blocks = nn.ModuleList(
                nn.Sequential(nn.Conv1d(hidden, hidden, 5, padding=2), nn.BatchNorm1d(hidden), nn.GELU())
                for _ in range(MODEL_BLOCKS)
            )
            self.out = nn.Linear(hidden, len(SYMBOLS))

        def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            x = self.subsample(x.transpose(1, 2))  # (B, H, T/2)
            for block in self.blocks:
                x = x + block(x)  # residual: keeps early training stable
            return self.out(x.transpose(1, 2)).log_softmax(-1), (lengths + 1) // 2  # (B, T/2, C), (B,)

    return SmallCTC()


def _batches(lengths: list[int], rng: np.random.Generator) -> list[list[int]]:
    order = np.argsort(lengths, kind="stable")
    batches, current, frames = [], [], 0
    for i in order.tolist():
        if current and (len(current) + 1) * lengths[i] > BATCH_FRAMES:
            batches.append(current)
            current = []
        current.append(i)
    batches.append(current)
    rng.shuffle(batches)
    return batches


def _stack(feats, ids):
    import torch

    lengths = torch.tensor([feats[i].shape[0] for i in ids])
    return torch.nn.utils.rnn.pad_sequence([feats[i] for i in ids], batch_first=True), lengths


def trained_logits(root: Path, cache: Path, train_seconds: float, seed: int) -> tuple[dict, str]:
    """Train (bounded time) or reuse the cached model; return {split: [(T, C) log-probs]} and a description."""
    import torch
    import torch.nn.functional as F

    cached = logits_cache(root)
    if cached.is_file():
        data = np.load(cached, allow_pickle=False)
        meta = json.loads(str(data["meta"]))
        out = {split: np.split(data[split], np.cumsum(data[split + "_len"])[:-1]) for split in meta["splits"]}
        return out, meta["description"] + f" (cached {cached.name})"

    torch.manual_seed(seed)
    index = {s: i for i, s in enumerate(SYMBOLS)}
    texts, feats = features(root, "train-clean")
    targets = [torch.tensor([index[c] for c in t]) for t in texts]
    model = ctc_model()
    optimiser = torch.optim.Adam(model.parameters(), lr=MODEL_LR)
    rng = np.random.default_rng(seed)
    start, steps, epochs, loss_value = time.perf_counter(), 0, 0, float("nan")
    while time.perf_counter() - start < train_seconds:
        for ids in _batches([f.shape[0] for f in feats], rng):
            if time.perf_counter() - start >= train_seconds:
                break
            x, x_len = _stack(feats, ids)
            log_probs, out_len = model(x, x_len)
            y = torch.cat([targets[i] for i in ids])
            y_len = torch.tensor([len(targets[i]) for i in ids])
            loss = F.ctc_loss(log_probs.transpose(0, 1), y, out_len, y_len, blank=BLANK, zero_infinity=True)
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimiser.step()
            steps, loss_value = steps + 1, float(loss.detach())
        else:
            epochs += 1
            print(f"  training: epoch {epochs} done, {time.perf_counter() - start:.0f} s, loss {loss_value:.3f}",
                  flush=True)
    model.eval()
    out = {}
    with torch.no_grad():
        for split in ("dev-clean", "test-clean"):
            _, split_feats = features(root, split)
            out[split] = []
            for f in split_feats:
                lp, n = model(f[None], torch.tensor([f.shape[0]]))
                out[split].append(lp[0, : int(n)].numpy().astype(np.float32))
    description = (f"trained (convolutional CTC model, {sum(p.numel() for p in model.parameters()) / 1e6:.1f} M "
                   f"params, {time.perf_counter() - start:.0f} s on train-clean: {steps} steps, {epochs} full "
                   f"epochs, last loss {loss_value:.2f})")
    torch.save(model.state_dict(), cache / f"{root.name}-ctc-model.pt")
    arrays = {split: np.concatenate(v) for split, v in out.items()}
    arrays.update({split + "_len": np.array([len(x) for x in v]) for split, v in out.items()})
    np.savez(cached, meta=json.dumps({"splits": list(out), "description": description}), **arrays)
    return out, description


def pad(log_probs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """List of (T_i, C) -> (B, T_max, C) padded with a certain blank, lengths (B,)."""
    lengths = np.array([lp.shape[0] for lp in log_probs])
    out = np.full((len(log_probs), lengths.max(), len(SYMBOLS)), -30.0, dtype=np.float32)
    out[:, :, BLANK] = 0.0
    for b, lp in enumerate(log_probs):
        out[b, : lp.shape[0]] = lp
    return out, lengths


# ----------------------------------------------------------------------------------------------- decoding
def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def decode_beam(log_probs: list[np.ndarray], lm, beam: int, alpha: float, beta: float) -> list[str]:
    from asrlab.decoding import PrefixBeamSearchDecoder

    decoder = PrefixBeamSearchDecoder(SYMBOLS, blank=BLANK, space=SPACE, beam_size=beam, lm=lm, alpha=alpha,
                                      beta=beta, prune_threshold=TOKEN_MIN_PROB, oov_penalty=OOV_PENALTY,
                                      beam_threshold=BEAM_THRESHOLD)
    return [decoder.search(lp)[0].text for lp in log_probs]


def tune(dev_logits, dev_refs, lm, beam: int, alphas, betas) -> tuple[float, float]:
    """Grid search of (alpha, beta) on dev-clean; a single pair is returned as is."""
    from asrlab.metrics import wer

    if len(alphas) * len(betas) == 1:
        return alphas[0], betas[0]
    scores = {(a, b): wer(dev_refs, decode_beam(dev_logits, lm, beam, a, b)) for a in alphas for b in betas}
    return min(scores, key=lambda ab: (scores[ab], ab))


# ----------------------------------------------------------------------------------------------- pyctcdecode
def pyctcdecode_worker(job_path: str, result_path: str) -> None:
    """Decode a saved job with pyctcdecode + kenlm (runs in any interpreter that has them; no asrlab needed)."""
    from pyctcdecode import build_ctcdecoder

    job = np.load(job_path, allow_pickle=False)
    meta = json.loads(str(job["meta"]))
    labels = [("" if i == BLANK else s) for i, s in enumerate(SYMBOLS)]  # pyctcdecode: "" is the blank
    decoder = build_ctcdecoder(labels, kenlm_model_path=meta["arpa"], unigrams=meta["unigrams"],
                               alpha=meta["alpha"], beta=meta["beta"])
    log_probs = [job["log_probs"][b, :n] for b, n in enumerate(job["lengths"])]
    decoder.decode(log_probs[0], beam_width=meta["beam"])  # warm-up (builds the LM state caches)
    start = time.perf_counter()
    texts = [decoder.decode(lp, beam_width=meta["beam"], token_min_logp=float(np.log(meta["token_min_prob"])),
                            beam_prune_logp=-meta["beam_threshold"]) for lp in log_probs]
    seconds = time.perf_counter() - start
    Path(result_path).write_text(json.dumps({"texts": texts, "seconds": seconds}))


def run_pyctcdecode(python: str | None, log_probs, arpa: Path, unigrams, beam, alpha, beta) -> dict | str:
    """Decode with pyctcdecode in a child interpreter; returns results or the reason it is unavailable."""
    interpreter = python or sys.executable
    probe = subprocess.run([interpreter, "-c", "import pyctcdecode, kenlm"], capture_output=True, text=True)
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["import failed"])[-1]
        return f"{last} in {interpreter}; pass --pyctcdecode-python with an interpreter that has pyctcdecode+kenlm"
    padded, lengths = pad(log_probs)
    with tempfile.TemporaryDirectory() as tmp:
        job, result = Path(tmp) / "job.npz", Path(tmp) / "result.json"
        meta = dict(arpa=str(arpa), unigrams=unigrams, beam=beam, alpha=alpha, beta=beta,
                    token_min_prob=TOKEN_MIN_PROB, beam_threshold=BEAM_THRESHOLD)
        np.savez(job, log_probs=padded, lengths=lengths, meta=json.dumps(meta))
        proc = subprocess.run([interpreter, __file__, "--pyctcdecode-worker", str(job), str(result)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            return "worker failed: " + (proc.stderr.strip().splitlines() or ["?"])[-1]
        return json.loads(result.read_text())


# ----------------------------------------------------------------------------------------------- main
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small corpus, fixed alpha/beta (< 60 s)")
    parser.add_argument("--logits", choices=("auto", "simulated", "trained"), default="auto")
    parser.add_argument("--train-seconds", type=float, default=1200.0,
                        help="training budget for --logits trained (when nothing is cached)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="default: $ASRLAB_CACHE/bench/beam_search")
    parser.add_argument("--beam", type=int, default=None)
    parser.add_argument("--alpha", type=float, default=None, help="skip tuning and use this LM weight")
    parser.add_argument("--beta", type=float, default=None, help="skip tuning and use this word bonus")
    parser.add_argument("--pyctcdecode-python", default=os.environ.get("ASRLAB_PYCTCDECODE_PYTHON"),
                        help="interpreter with pyctcdecode and kenlm installed (default: this one)")
    parser.add_argument("--pyctcdecode-worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pyctcdecode_worker:
        pyctcdecode_worker(*args.pyctcdecode_worker)
        return 0

    from asrlab.data.fetch import default_cache_dir
    from asrlab.lm import estimate_kneser_ney, kenlm_available, load_lm, write_arpa
    from asrlab.metrics import cer, wer

    settings = dict(QUICK if args.quick else FULL)
    beam = args.beam or settings["beam"]
    cache = (args.cache_dir or default_cache_dir() / "bench" / "beam_search").expanduser()
    cache.mkdir(parents=True, exist_ok=True)
    wall = time.perf_counter()

    # auto: cached trained logits win (in --quick those of the full corpus too), else the simulation
    hours, source = settings["hours"], args.logits
    if source == "auto":
        trained = [h for h in dict.fromkeys((hours, FULL["hours"]))
                   if logits_cache(corpus_root(cache, h, SEED)).is_file()]
        hours, source = (trained[0], "trained") if trained else (hours, "simulated")
    (root, splits), corpus_s = timed(corpus_texts, cache, hours, SEED)
    train_text = [t for _, t in splits["train-clean"]]
    test_refs = [t for _, t in splits["test-clean"]]
    dev_refs = [t for _, t in splits["dev-clean"]]
    print(f"corpus: {root} ({corpus_s:.1f} s); train {len(train_text)} / dev {len(dev_refs)} / "
          f"test {len(test_refs)} utterances")

    lm, lm_s = timed(estimate_kneser_ney, train_text, LM_ORDER)
    arpa = write_arpa(lm, cache / f"train-{hours:g}h-{LM_ORDER}gram.arpa")
    megabytes = sum(len(t) + 1 for t in train_text) / 1e6
    print(f"lm: {LM_ORDER}-gram Kneser-Ney from train-clean text only ({megabytes:.2f} MB) in {lm_s:.2f} s, "
          f"n-grams {lm.ngram_counts()}, {arpa}")

    if source == "trained":
        logits, description = trained_logits(root, cache, args.train_seconds, SEED)
        print(f"logits: {description}")
        test_logits, dev_logits = logits["test-clean"], logits["dev-clean"]
    else:
        print("logits: simulated (simulated_ctc_log_probs: transcripts spread over frames with confusable "
              f"letters, confusion rate {CONFUSION_RATE}); not an acoustic model")
        test_logits = simulated_logits(splits["test-clean"], SEED + 1)
        dev_logits = simulated_logits(splits["dev-clean"], SEED + 2)

    if settings["max_test"] is not None and len(test_refs) > settings["max_test"]:
        test_refs, test_logits = test_refs[: settings["max_test"]], test_logits[: settings["max_test"]]
        print(f"test: first {len(test_refs)} test-clean utterances (--quick)")

    from asrlab.decoding import GreedyCTCDecoder

    greedy = GreedyCTCDecoder(SYMBOLS, blank=BLANK)
    padded, lengths = pad(test_logits)
    greedy_hyps, greedy_s = timed(greedy.decode, padded, lengths)
    greedy_wer = wer(test_refs, greedy_hyps)
    print(f"greedy:      WER {greedy_wer:.4f}  CER {cer(test_refs, greedy_hyps):.4f}  "
          f"{len(test_refs) / greedy_s:.1f} utt/s")

    if args.alpha is not None and args.beta is not None:
        alpha, beta = args.alpha, args.beta
    else:
        (alpha, beta), tune_s = timed(tune, dev_logits, dev_refs, lm, beam, settings["alphas"], settings["betas"])
        if len(settings["alphas"]) * len(settings["betas"]) > 1:
            print(f"tuned on dev-clean: alpha {alpha}, beta {beta} ({tune_s:.1f} s)")
    beam_hyps, beam_s = timed(decode_beam, test_logits, lm, beam, alpha, beta)
    beam_wer = wer(test_refs, beam_hyps)
    beam_ups = len(test_refs) / beam_s
    print(f"beam+lm:     WER {beam_wer:.4f}  CER {cer(test_refs, beam_hyps):.4f}  {beam_ups:.1f} utt/s  "
          f"(beam {beam}, alpha {alpha}, beta {beta}, oov {OOV_PENALTY}, asrlab, pure-Python LM)")
    if kenlm_available():  # the same search on the ARPA file through kenlm's state API
        ken_hyps, ken_s = timed(decode_beam, test_logits, load_lm(arpa, backend="kenlm"), beam, alpha, beta)
        ken_ups = len(test_refs) / ken_s
        print(f"beam+kenlm:  WER {wer(test_refs, ken_hyps):.4f}  CER {cer(test_refs, ken_hyps):.4f}  "
              f"{ken_ups:.1f} utt/s  (asrlab, kenlm backend; same transcripts as pure Python: "
              f"{sum(a == b for a, b in zip(ken_hyps, beam_hyps))}/{len(beam_hyps)})")
    else:
        print("beam+kenlm:  skipped (kenlm not installed; pip install kenlm)")

    unigrams = sorted(lm.predictable_vocab())
    unigrams = [w for w in unigrams if not w.startswith("<")]
    result = run_pyctcdecode(args.pyctcdecode_python, test_logits, arpa, unigrams, beam, alpha, beta)
    if isinstance(result, str):
        print(f"pyctcdecode: unavailable ({result})")
    else:
        py_wer = wer(test_refs, result["texts"])
        py_ups = len(test_refs) / result["seconds"]
        print(f"pyctcdecode: WER {py_wer:.4f}  CER {cer(test_refs, result['texts']):.4f}  {py_ups:.1f} utt/s  "
              f"(same logits, ARPA, beam, alpha, beta; kenlm)")
        print(f"speed asrlab/pyctcdecode: {beam_ups / py_ups:.2f} (pure-Python LM)"
              + (f", {ken_ups / py_ups:.2f} (kenlm)" if kenlm_available() else "")
              + f"; WER asrlab {beam_wer:.4f} vs pyctcdecode {py_wer:.4f}")
    print(f"total time: {time.perf_counter() - wall:.1f} s")
    ratio = beam_wer / greedy_wer if greedy_wer > 0 else float("nan")
    print(f"ratio: {ratio:.4f}  (WER beam+lm {beam_wer:.4f} / greedy {greedy_wer:.4f}; beam+lm {beam_ups:.1f} utt/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
