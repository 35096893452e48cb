"""Reference acoustic models of the course.

* :class:`CTCModel` -- feed-forward / LSTM / BiLSTM CTC models with optional conv subsampling;
* :class:`RNNTModel` -- :class:`RNNTEncoder`, :class:`Predictor` (decoder ``step`` API), :class:`Joiner`;
* :class:`MultiTaskCTC` -- CTC model plus HarperValleyBank heads (:class:`MultiTaskHeads`);
* :func:`save_model` / :func:`load_model` -- ``{"config", "state_dict"}`` checkpoints, ``weights_only``-safe.

Every model has ``model.config`` (plain dict) and ``Model.from_config(config)``.
"""
from asrlab.models.checkpoint import ARCHITECTURES, load_model, model_checkpoint, model_from_config, save_model
from asrlab.models.ctc import ENCODERS, CTCModel
from asrlab.models.encoders import FeedForwardEncoder, LSTMEncoder
from asrlab.models.multitask import MultiTaskCTC, MultiTaskHeads, masked_mean
from asrlab.models.rnnt import Joiner, Predictor, RNNTEncoder, RNNTModel
from asrlab.models.subsampling import ConvSubsampling

__all__ = [
    "ARCHITECTURES", "ENCODERS", "ConvSubsampling", "CTCModel", "FeedForwardEncoder", "Joiner", "LSTMEncoder",
    "MultiTaskCTC", "MultiTaskHeads", "Predictor", "RNNTEncoder", "RNNTModel", "load_model", "masked_mean",
    "model_checkpoint", "model_from_config", "save_model",
]
