"""DEPTHWISE_CONV_2D: int8 depthwise convolution, depth multiplier >= 1 (`depthwise_conv_2d_s8`)."""

from __future__ import annotations

from toolchain.codegen.ops._conv_common import (
    check_conv_io,
    geometry_params,
    per_channel_multipliers,
)
from toolchain.codegen.ops.base import OPS, OpEmitter, kernel_define
from toolchain.codegen.planner import streaming_overlap


@OPS.register("DEPTHWISE_CONV_2D")
class DepthwiseConv2D(OpEmitter):
    """Output channel `ic * depth_multiplier + m`; filter [1, k_h, k_w, in_c * depth_multiplier]."""

    kernels = ("depthwise_conv_2d",)

    def prepare(self) -> None:
        check_conv_io(self)
        x, w, y = self.inputs[0], self.inputs[1], self.outputs[0]
        one, k_h, k_w, out_c = w.shape
        in_c = x.shape[3]
        if one != 1 or out_c != y.shape[3] or in_c == 0 or out_c % in_c:
            raise self.fail(f"filter {w.shape} does not fit input {x.shape} and output {y.shape}")
        dm = out_c // in_c
        opt_dm = self.op.options.get("depth_multiplier", 0)
        if opt_dm not in (0, dm):
            raise self.fail(f"depth_multiplier option {opt_dm} disagrees with the shapes ({dm})")
        mult, shift = per_channel_multipliers(self, out_c, 3)
        self.params = {**geometry_params(self, k_h, k_w), "depth_multiplier": dm}
        self.mult = self.ctx.const(mult, "int32_t")
        self.shift = self.ctx.const(shift, "int32_t")

    def emit(self) -> str:
        b = self.inputs[2] if len(self.inputs) > 2 else None
        bias = self.ctx.ptr(b.index) if b is not None else "NULL"
        return self.call(
            "depthwise_conv_2d_params_t",
            self.params,
            f"depthwise_conv_2d_s8(&p, {self.ctx.ptr(self.op.inputs[0], True)}, "
            f"{self.ctx.ptr(self.op.inputs[1])}, {bias}, {self.mult}, {self.shift}, "
            f"{self.ctx.ptr(self.op.outputs[0])}, {self.ctx.scratch(self.op)});",
        )

    def scratch_bytes(self) -> int:
        """The Helium kernel's buffers (row ring or tap records, mve_depthwise_conv_2d.h) when
        its fast path takes the layer (depth multiplier 1, bounded taps and channels)."""
        p = self.params
        if (
            p["depth_multiplier"] != 1
            or p["k_h"] * p["k_w"] > kernel_define("mve_depthwise_conv_2d", "MVE_DW_MAX_TAPS")
            or p["in_c"] > kernel_define("mve_depthwise_conv_2d", "MVE_DW_MAX_C")
        ):
            return 0
        return kernel_define("depthwise_conv_2d", "DEPTHWISE_CONV_2D_SCRATCH_BYTES")

    def overlap_bytes(self) -> int:
        """Output rows may trail the input rows still to be read (reference and Helium loops
        walk output rows in order; see `planner.streaming_overlap`)."""
        p = self.params
        return streaming_overlap(
            p["batches"],
            p["in_h"],
            p["in_w"] * p["in_c"],
            p["out_h"],
            p["out_w"] * p["in_c"] * p["depth_multiplier"],
            p["stride_h"],
            p["pad_h"],
        )

    def macs(self) -> int:
        p = self.params
        return (
            p["batches"]
            * p["out_h"]
            * p["out_w"]
            * p["in_c"]
            * p["depth_multiplier"]
            * p["k_h"]
            * p["k_w"]
        )
