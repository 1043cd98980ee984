"""reidtool: train, quantize, generate C for, and evaluate on-device person re-identification embedders."""

__version__ = "0.1.0"
