"""Datasets of the project: :class:`CustomDirDataset` reads a folder of audio files with optional transcripts."""
from src.datasets.custom_dir import AUDIO_SUFFIXES, CustomDirDataset, load_audio

__all__ = ["AUDIO_SUFFIXES", "CustomDirDataset", "load_audio"]
