"""Recipes of the ``e2e_mtl`` assignment: adapters and evaluation code run in the sandbox.

See :mod:`asrlab_grade.recipes`; the tasks are in ``asrlab_grade/tasks/e2e_mtl.py``.
"""
from __future__ import annotations


def dataset_adapter(dataset_class, waveforms, transcripts, settings):
    """Write a one-speaker corpus (data.h5 + labels.npz) into the scratch folder, build the dataset, read every item."""
    import tempfile
    import h5py
    import numpy as np
    import torch

    root = tempfile.mkdtemp(prefix="hvb-", dir=".")
    with h5py.File(f"{root}/data.h5", "w") as h5:
        group = h5.create_group("waveforms")
        for i, wav in enumerate(waveforms):
            group.create_dataset(str(i), data=np.asarray(wav, dtype=np.float32))
    np.savez(f"{root}/labels.npz", human_transcripts=np.array(transcripts), speaker_ids=np.zeros(len(transcripts), dtype=np.int64))
    dataset = dataset_class(root, "test", **settings)      # one speaker: every utterance is in the test split
    out = {"features": [], "input_lengths": [], "labels": [], "label_lengths": []}
    for index in range(len(waveforms)):
        features, input_length, labels, label_length = dataset.get_primary_task_data(index)
        out["features"].append(torch.as_tensor(features).detach().cpu().numpy())
        out["input_lengths"].append(int(input_length))
        out["labels"].append(torch.as_tensor(labels).detach().cpu().numpy())
        out["label_lengths"].append(int(label_length))
    return {"features": np.stack(out["features"]), "input_lengths": np.array(out["input_lengths"], dtype=np.int64),
            "labels": np.stack(out["labels"]), "label_lengths": np.array(out["label_lengths"], dtype=np.int64)}


def ctc_loss_adapter(get_ctc_loss, log_probs, targets, input_lengths, target_lengths, blank):
    import torch
    loss = get_ctc_loss(torch.as_tensor(log_probs), torch.as_tensor(targets), torch.as_tensor(input_lengths),
                        torch.as_tensor(target_lengths), blank=blank)
    return float(torch.as_tensor(loss).detach().reshape(()))


def model_adapter(model_class, config, state, feats, lengths):
    import numpy as np
    import torch
    model = model_class(**config)
    model.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()})
    model.eval()
    with torch.no_grad():
        log_probs, out_lengths, hidden = model(torch.as_tensor(feats), torch.as_tensor(lengths))
    return {"log_probs": log_probs.detach().cpu().numpy(), "lengths": torch.as_tensor(out_lengths).cpu().numpy().astype(np.int64),
            "hidden": hidden.detach().cpu().numpy()}


def low_high_adapter(lowest_and_highest_cer, references, hypotheses):
    low, low_cer, high, high_cer = lowest_and_highest_cer(references, hypotheses)
    return [int(low), float(low_cer), int(high), float(high_cer)]


def transcribe_adapter(transcribe, wav, weight, bias):
    import torch
    from torch import nn

    class FrameClassifier(nn.Module):
        """A one-layer stand-in for a trained model: log_softmax(features @ W + b), one output per frame."""
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(weight.shape[1], weight.shape[0])
            self.linear.weight.data = torch.as_tensor(weight)
            self.linear.bias.data = torch.as_tensor(bias)

        def forward(self, inputs, input_lengths):
            return self.linear(inputs).log_softmax(-1), input_lengths, inputs

    text = transcribe(FrameClassifier(), wav)
    return text if isinstance(text, str) else repr(text)


def pool_adapter(masked_mean_pool, hidden, lengths):
    import torch
    return torch.as_tensor(masked_mean_pool(torch.as_tensor(hidden), torch.as_tensor(lengths))).detach().cpu().numpy()


def head_adapter(head_class, weight, bias, pooled, targets):
    import torch
    head = head_class(weight.shape[1], weight.shape[0])
    head.load_state_dict({"linear.weight": torch.as_tensor(weight), "linear.bias": torch.as_tensor(bias)})
    outputs = head(torch.as_tensor(pooled))
    loss = head.get_loss(outputs, torch.as_tensor(targets))
    return {"outputs": outputs.detach().cpu().numpy(), "loss": float(torch.as_tensor(loss).detach().reshape(()))}


def combine_adapter(combine_losses, losses, weights):
    import torch
    total = combine_losses({k: torch.tensor(v) for k, v in losses.items()}, weights)
    return float(torch.as_tensor(total).detach().reshape(()))


def evaluate(model, inputs, device):
    """Greedy transcripts of 8 kHz waveforms with the course features (log-Mel in dB, normalised per band)."""
    import librosa
    import numpy as np
    import torch
    from asrlab.decoding import ctc_greedy_ids
    from asrlab.features import HVB_FEATURES as s
    from asrlab.text import HVBVocab

    vocab = HVBVocab()
    texts = []
    for wav in inputs:
        mel = librosa.feature.melspectrogram(y=np.asarray(wav, dtype=np.float32), sr=s["sample_rate"],
                                             n_mels=s["n_mels"], n_fft=s["n_fft"], win_length=s["win_length"],
                                             hop_length=s["hop_length"])
        db = librosa.power_to_db(mel).T
        feats = torch.from_numpy(((db - db.mean(0)) / (db.std(0) + 1e-5)).astype(np.float32))[None].to(device)
        out = model(feats, torch.tensor([feats.shape[1]], device=device))
        log_probs, lengths = (out[0], out[1]) if isinstance(out, (tuple, list)) else (out["log_probs"], out["lengths"])
        texts.append(vocab.decode(ctc_greedy_ids(log_probs.float(), lengths, vocab.blank)[0]))
    return texts
