"""The acoustic model (a CTC BiLSTM built on ``asrlab.models``) and the checkpoint folder it lives in."""
from src.model.checkpoint import CONFIG_FILE, LM_FILE, WEIGHTS_FILE, load_checkpoint, save_checkpoint
from src.model.ctc import build_model, build_tokenizer, token_texts

__all__ = ["CONFIG_FILE", "LM_FILE", "WEIGHTS_FILE", "build_model", "build_tokenizer", "load_checkpoint",
           "save_checkpoint", "token_texts"]
