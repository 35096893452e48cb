"""Corpus WER and CER of two folders of transcripts: ``python calc_metrics.py REF_DIR HYP_DIR``.

Each folder holds ``<id>.txt`` files (or a ``transcriptions/`` folder of them, as a custom folder does). Every
reference needs a hypothesis; a missing one counts as empty. Prints::

    WER: 0.1234
    CER: 0.0456
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from src.metrics import char_error_rate, word_error_rate


def read_transcripts(folder: str | Path) -> dict[str, str]:
    """{id: text} of ``folder/*.txt`` (or ``folder/transcriptions/*.txt``)."""
    folder = Path(folder)
    if (folder / "transcriptions").is_dir():
        folder = folder / "transcriptions"
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder of <id>.txt transcripts")
    return {p.stem: p.read_text(encoding="utf-8").strip() for p in sorted(folder.glob("*.txt"))}


def compute(ref_dir: str | Path, hyp_dir: str | Path) -> tuple[float, float]:
    """(WER, CER) of the hypotheses in ``hyp_dir`` against the references in ``ref_dir``."""
    refs, hyps = read_transcripts(ref_dir), read_transcripts(hyp_dir)
    if not refs:
        raise ValueError(f"{ref_dir} holds no <id>.txt references")
    missing = sorted(set(refs) - set(hyps))
    if missing:
        print(f"warning: {len(missing)} references have no hypothesis (scored as empty), e.g. {missing[0]}",
              file=sys.stderr)
    ids = sorted(refs)
    ref_texts, hyp_texts = [refs[i] for i in ids], [hyps.get(i, "") for i in ids]
    return word_error_rate(ref_texts, hyp_texts), char_error_rate(ref_texts, hyp_texts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ref_dir")
    parser.add_argument("hyp_dir")
    args = parser.parse_args(argv)
    wer, cer = compute(args.ref_dir, args.hyp_dir)
    print(f"WER: {wer:.6f}")
    print(f"CER: {cer:.6f}")


if __name__ == "__main__":
    main()
