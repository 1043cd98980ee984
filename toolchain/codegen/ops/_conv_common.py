"""Shared prepare steps of CONV_2D and DEPTHWISE_CONV_2D (the oracle's conv prepare).

Per-channel multipliers follow `PopulateConvolutionQuantizationParams`: for each output
channel, `double(input_scale) * double(filter_scale[c]) / double(output_scale)` then
`QuantizeMultiplier`; per-tensor filters use the same path with one scale broadcast.
"""

from __future__ import annotations

import numpy as np

from toolchain.codegen.ops.base import INT8, INT32, OpEmitter
from toolchain.codegen.quant import activation_range, compute_padding, quantize_multiplier


def per_channel_multipliers(
    em: OpEmitter, channels: int, filter_dim: int
) -> tuple[np.ndarray, np.ndarray]:
    """(multipliers, shifts) int32 arrays of length `channels` for a conv-like op."""
    x, w = em.inputs[0], em.inputs[1]
    y = em.outputs[0]
    scales = w.scales
    if len(scales) == 1:
        scales = np.repeat(scales, channels)
    elif len(scales) != channels or w.quantized_dimension != filter_dim:
        raise em.fail(
            f"{w.describe()}: expected 1 or {channels} scales on dimension {filter_dim}, "
            f"received {len(w.scales)} on dimension {w.quantized_dimension}"
        )
    if len(w.zero_points) and np.any(w.zero_points != 0):
        raise em.fail(
            f"{w.describe()}: expected filter zero points of 0 (symmetric int8), "
            f"received {sorted(set(w.zero_points.tolist()))[:4]}"
        )
    mult = np.zeros(channels, np.int32)
    shift = np.zeros(channels, np.int32)
    for c in range(channels):
        real = float(x.scale) * float(scales[c]) / float(y.scale)
        mult[c], shift[c] = quantize_multiplier(real)
    return mult, shift


def check_conv_io(em: OpEmitter) -> None:
    em.need_inputs(2, 3)
    for t in (em.inputs[0], em.inputs[1], em.outputs[0]):
        em.need_dtype(t, INT8)
    em.need_per_tensor(em.inputs[0])
    em.need_per_tensor(em.outputs[0])
    em.need_const(em.inputs[1], "the filter")
    for t in (em.inputs[0], em.inputs[1], em.outputs[0]):
        if len(t.shape) != 4:
            raise em.fail(f"{t.describe()}: expected rank 4, received rank {len(t.shape)}")
    if len(em.inputs) > 2 and em.inputs[2] is not None:
        em.need_dtype(em.inputs[2], INT32)
        em.need_const(em.inputs[2], "the bias")


def geometry_params(em: OpEmitter, k_h: int, k_w: int) -> dict[str, int]:
    """The shape, window and offset fields CONV_2D and DEPTHWISE_CONV_2D share (NHWC input and
    output, the filter window, `spatial_params`, the input and output offsets)."""
    x, y = em.inputs[0], em.outputs[0]
    return {
        "batches": x.shape[0],
        "in_h": x.shape[1],
        "in_w": x.shape[2],
        "in_c": x.shape[3],
        "out_h": y.shape[1],
        "out_w": y.shape[2],
        "k_h": k_h,
        "k_w": k_w,
        **spatial_params(em, k_h, k_w),
        "input_offset": -x.zero_point,
        "output_offset": y.zero_point,
    }


def spatial_params(em: OpEmitter, k_h: int, k_w: int) -> dict[str, int]:
    """Strides, dilations, paddings and the activation range, checked against the output shape."""
    o = em.op.options
    x, y = em.inputs[0], em.outputs[0]
    sh, sw = o.get("stride_h", 1), o.get("stride_w", 1)
    dh, dw = o.get("dilation_h", 1), o.get("dilation_w", 1)
    if min(sh, sw, dh, dw) < 1:
        raise em.fail(f"strides ({sh}, {sw}) and dilations ({dh}, {dw}) must be >= 1")
    if o.get("padding", 0) not in (0, 1):
        raise em.fail(f"padding code {o.get('padding')} is unknown; expected SAME (0) or VALID (1)")
    out_h, pad_h = compute_padding(o.get("padding", 0), x.shape[1], k_h, sh, dh)
    out_w, pad_w = compute_padding(o.get("padding", 0), x.shape[2], k_w, sw, dw)
    if (out_h, out_w) != y.shape[1:3] or x.shape[0] != y.shape[0]:
        raise em.fail(
            f"output shape {y.shape} does not match the computed "
            f"({x.shape[0]}, {out_h}, {out_w}, ...)"
        )
    lo, hi = activation_range(o.get("activation", 0), y.scale, y.zero_point, y.dtype, em.where())
    return {
        "stride_h": sh,
        "stride_w": sw,
        "dilation_h": dh,
        "dilation_w": dw,
        "pad_h": pad_h,
        "pad_w": pad_w,
        "act_min": lo,
        "act_max": hi,
    }
