"""Quantization: Keras embedder → full-int8 TFLite (calibration, checks, report, per-layer errors).

Modules: `quantizer` (the operation mode, `quantize(cfg, run) -> QuantizeResult`),
`calibration` (which images, turned into input bytes, plus the 0/255 extremes), `inspect`
(ops of a .tflite, builtin-int8 check), `debug` (per-layer float vs int8 error csv).
"""
