"""CTC decoding: greedy (best path) and prefix beam search with optional word n-gram LM fusion."""
from src.decoding.beam import LMFusion, beam_search
from src.decoding.greedy import greedy_decode

__all__ = ["LMFusion", "beam_search", "greedy_decode"]
