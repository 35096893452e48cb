"""Recipes of the ``wav2vec2`` assignment: adapters and evaluation code run in the sandbox.

See :mod:`asrlab_grade.recipes`; the tasks are in ``asrlab_grade/tasks/wav2vec2.py``.
"""
from __future__ import annotations


def _processor(vocab, folder="."):
    """Wav2Vec2Processor for a vocabulary dict ([UNK], [PAD], | specials; 16 kHz, normalized, attention mask)."""
    import json
    from pathlib import Path
    from transformers import Wav2Vec2CTCTokenizer, Wav2Vec2FeatureExtractor, Wav2Vec2Processor
    path = Path(folder) / "grader_vocab.json"
    path.write_text(json.dumps(vocab))
    tokenizer = Wav2Vec2CTCTokenizer(str(path), unk_token="[UNK]", pad_token="[PAD]", word_delimiter_token="|")
    features = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True,
                                        return_attention_mask=True)
    return Wav2Vec2Processor(feature_extractor=features, tokenizer=tokenizer)


def vocab_adapter(build_vocab, texts):
    vocab = build_vocab(list(texts))
    if not isinstance(vocab, dict):
        return {"type": type(vocab).__name__}
    return {"tokens": [str(k) for k in vocab], "ids": [v if isinstance(v, int) else -1 for v in vocab.values()]}


def _outputs(processor, texts, waveforms):
    import numpy as np
    tokenizer, features = processor.tokenizer, processor.feature_extractor
    ids = [[int(i) for i in processor(text=t).input_ids] for t in texts]
    batch = processor(audio=[np.asarray(w, dtype=np.float32) for w in waveforms], sampling_rate=16000,
                      padding=True, return_tensors="np")
    mask = batch.get("attention_mask")
    return {"ids": ids, "decoded": [str(s) for s in processor.batch_decode(ids, group_tokens=False)],
            "special": [int(tokenizer.pad_token_id), int(tokenizer.unk_token_id),
                        int(tokenizer.convert_tokens_to_ids(tokenizer.word_delimiter_token))],
            "sampling_rate": int(features.sampling_rate),
            "values": np.asarray(batch["input_values"], dtype=np.float32),
            "mask": None if mask is None else np.asarray(mask, dtype=np.int64)}


def processor_adapter(make_processor, vocab, texts, waveforms):
    import json
    from pathlib import Path
    path = Path("vocab.json")
    path.write_text(json.dumps(vocab))
    return _outputs(make_processor(str(path)), texts, waveforms)


def collator_adapter(DataCollatorCTCWithPadding, vocab, values, labels):
    import numpy as np
    import torch
    collate = DataCollatorCTCWithPadding(processor=_processor(vocab))
    batch = collate([{"input_values": np.asarray(v, dtype=np.float32), "labels": [int(i) for i in l]}
                     for v, l in zip(values, labels)])
    return {k: (torch.as_tensor(batch[k]) if k in batch else None) for k in ("input_values", "attention_mask", "labels")}


def metrics_adapter(make_compute_metrics, vocab, logits, label_ids):
    import numpy as np
    from transformers import EvalPrediction
    metrics = make_compute_metrics(_processor(vocab))(EvalPrediction(predictions=np.array(logits),
                                                                     label_ids=np.array(label_ids)))
    return {"wer": float(metrics["wer"]), "cer": float(metrics["cer"])}


def model_adapter(build_model, vocab, config, saved_config, seed):
    import torch
    from asrlab import hf
    processor = _processor(vocab)
    torch.manual_seed(seed)
    hf.wav2vec2_for_pretraining(hf.TINY, **saved_config).save_pretrained("grader_start")
    start = hf.wav2vec2_for_pretraining("grader_start")
    out = {}
    for name, where in (("tiny", hf.TINY), ("folder", "grader_start")):
        model = build_model(processor, start=where, **config)
        cfg = model.config
        out[name] = {
            "reduction": str(cfg.ctc_loss_reduction), "pad": int(cfg.pad_token_id), "vocab": int(cfg.vocab_size),
            "head": int(model.lm_head.out_features), "hidden": int(cfg.hidden_size),
            "overrides": {k: getattr(cfg, k, None) for k in config},
            "frozen": sorted(n for n, p in model.named_parameters() if not p.requires_grad),
            "trainable": sorted(n for n, p in model.named_parameters() if p.requires_grad)}
        if name == "folder":
            mine, theirs = model.state_dict(), start.state_dict()
            out[name]["loaded"] = all(torch.equal(mine[k], theirs[k]) for k in mine if k in theirs and
                                      k.startswith("wav2vec2.encoder."))
    return out


def args_adapter(make_training_args, args):
    training = make_training_args("grader_runs", **args)
    return {"epochs": float(training.num_train_epochs), "learning_rate": float(training.learning_rate),
            "batch_size": int(training.per_device_train_batch_size), "warmup_steps": int(training.warmup_steps),
            "sampling": str(training.train_sampling_strategy),
            "eval": str(getattr(training.eval_strategy, "value", training.eval_strategy)),
            "save": str(getattr(training.save_strategy, "value", training.save_strategy)),
            "fp16": bool(training.fp16), "report_to": [str(r) for r in (training.report_to or [])]}


def contrastive_adapter(contrastive_loss, spec):
    import torch
    from asrlab import hf
    torch.manual_seed(spec["seed"])
    model = hf.wav2vec2_for_pretraining(hf.TINY, **spec["config"]).eval()
    waves = torch.as_tensor(spec["waves"])
    f = hf.pretraining_features(model, waves, mask_prob=spec["mask_prob"], seed=spec["seed"])
    with torch.no_grad():
        loss = contrastive_loss(f["context"], f["quantized"], f["mask"], f["negatives"], f["temperature"])
    return torch.as_tensor(loss).detach().double().reshape(())


def transcribe(model, processor, waveforms, device):
    """Greedy transcripts of a list of 16 kHz float32 waveforms, one utterance at a time (the grader's recipe)."""
    import numpy as np
    import torch

    transcripts = []
    for waveform in waveforms:
        inputs = processor(audio=np.asarray(waveform, dtype=np.float32).reshape(-1), sampling_rate=16_000,
                           return_tensors="pt")
        with torch.no_grad():
            logits = model(inputs.input_values.to(device)).logits                  # (1, T, V)
        transcripts.append(processor.batch_decode(logits.argmax(dim=-1).cpu())[0])
    return transcripts


def load_adapter(Wav2Vec2ForCTC, folder, waveforms):
    import os
    os.environ["HF_HUB_OFFLINE"] = "1"
    from transformers import Wav2Vec2Processor
    model = Wav2Vec2ForCTC.from_pretrained(folder, use_safetensors=True, local_files_only=True).eval()
    processor = Wav2Vec2Processor.from_pretrained(folder, local_files_only=True)
    return [str(t) for t in transcribe(model, processor, waveforms, "cpu")]
