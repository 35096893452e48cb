"""The speech recognizer of this project: data, augmentations, model, decoding, training and the API."""
