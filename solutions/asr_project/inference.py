"""Transcribe a folder: ``python inference.py checkpoint=DIR audio_dir=DIR out_dir=DIR decoder=greedy|beam``.

Writes ``out_dir/<id>.txt`` (one lowercase transcript) per audio file of ``audio_dir`` (or of
``audio_dir/audio/`` for a custom folder); a thin layer over :mod:`src.api`.
"""
from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig

from src.datasets import AUDIO_SUFFIXES


def audio_files(folder: str | Path) -> list[Path]:
    """The audio files of ``folder`` (or of ``folder/audio`` when it has one), sorted."""
    folder = Path(folder)
    if (folder / "audio").is_dir():
        folder = folder / "audio"
    if not folder.is_dir():
        raise FileNotFoundError(f"audio_dir={folder} is not a folder; give a folder of audio files")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"{folder} holds no {'/'.join(AUDIO_SUFFIXES)} files")
    return files


@hydra.main(config_path="configs/inference", config_name="inference", version_base=None)
def main(cfg: DictConfig) -> None:
    from src.api import load_model, transcribe

    model = load_model(str(cfg.checkpoint), device=str(cfg.device))
    texts = transcribe(model, [str(p) for p in audio_files(cfg.audio_dir)], decoder=str(cfg.decoder))
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for utt_id, text in texts.items():
        (out / f"{utt_id}.txt").write_text(text + "\n", encoding="utf-8")
    print(f"wrote {len(texts)} transcripts to {out}")


if __name__ == "__main__":
    main()
