"""Recipes of the ``ctc_training`` assignment: adapters and evaluation code run in the sandbox.

See :mod:`asrlab_grade.recipes`; the tasks are in ``asrlab_grade/tasks/ctc_training.py``.
"""
from __future__ import annotations


def normalize_adapter(normalize_features, feats, lengths):
    import torch
    return normalize_features(torch.as_tensor(feats), torch.as_tensor(lengths))


def spec_augment_adapter(spec_augment, feats, lengths, settings, seeds):
    import torch
    x, lengths = torch.as_tensor(feats), torch.as_tensor(lengths)
    before = x.clone()
    outputs = [spec_augment(x, lengths, generator=torch.Generator().manual_seed(s), **settings) for s in seeds]
    again = spec_augment(x, lengths, generator=torch.Generator().manual_seed(seeds[0]), **settings)
    return {"outputs": torch.stack([torch.as_tensor(o).detach().cpu() for o in outputs]),
            "repeatable": bool(torch.equal(torch.as_tensor(again).cpu(), outputs[0].cpu())),
            "input_unchanged": bool(torch.equal(x, before))}


def encoder_adapter(RecurrentEncoder, config, weights, feats, lengths):
    import torch
    encoder = RecurrentEncoder(**config)
    encoder.load_state_dict({name: torch.as_tensor(w) for name, w in weights.items()})
    encoder.eval()
    with torch.no_grad():
        out, _ = encoder(torch.as_tensor(feats), torch.as_tensor(lengths))
    return torch.cat([out[b, :int(n)] for b, n in enumerate(lengths)]).float()   # the valid frames only


def model_adapter(CTCNet, config, feats, lengths, seed):
    import torch
    torch.manual_seed(seed)
    model = CTCNet(**config).eval()
    x, lengths = torch.as_tensor(feats), torch.as_tensor(lengths)
    with torch.no_grad():
        log_probs, out_lengths = model(x, lengths)
        direct = model.output_lengths(lengths)
        alone = [model(x[b:b + 1, :int(n)], lengths[b:b + 1])[0][0].float() for b, n in enumerate(lengths)]
    return {"log_probs": log_probs.float(), "lengths": torch.as_tensor(out_lengths), "direct": torch.as_tensor(direct),
            "alone": alone}


def evaluate(model, waveforms, device):
    """Greedy transcripts of a list of 16 kHz float32 waveforms (the grader's recipe)."""
    import torch
    from asrlab.decoding import ctc_greedy_ids
    from asrlab.features import LogMel
    from asrlab.text import CharTokenizer

    tokenizer, log_mel = CharTokenizer(), LogMel().to(device)
    transcripts = []
    for waveform in waveforms:
        feats, frames = log_mel(torch.as_tensor(waveform, dtype=torch.float32, device=device)[None])   # (1, T, 80)
        feats = (feats - feats.mean(dim=1, keepdim=True)) / (feats.std(dim=1, unbiased=False, keepdim=True) + 1e-5)
        log_probs, out_lengths = model(feats, frames)
        transcripts.append(tokenizer.decode(ctc_greedy_ids(log_probs.float().cpu(), out_lengths.cpu(), model.blank)[0]))
    return transcripts
