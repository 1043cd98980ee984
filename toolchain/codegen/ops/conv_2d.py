"""CONV_2D: int8 convolution with per-channel requantization (kernel `conv_2d_s8`)."""

from __future__ import annotations

from toolchain.codegen.ops._conv_common import (
    check_conv_io,
    geometry_params,
    per_channel_multipliers,
)
from toolchain.codegen.ops.base import OPS, OpEmitter, kernel_define


@OPS.register("CONV_2D")
class Conv2D(OpEmitter):
    """Stride, dilation, SAME/VALID, per-channel or per-tensor filters, fused ReLU/ReLU6."""

    kernels = ("conv_2d",)

    def prepare(self) -> None:
        check_conv_io(self)
        x, w, y = self.inputs[0], self.inputs[1], self.outputs[0]
        out_c, k_h, k_w, in_c = w.shape
        if in_c != x.shape[3] or out_c != y.shape[3]:
            raise self.fail(
                f"filter {w.shape} does not fit input {x.shape} and output {y.shape} "
                "(grouped convolutions are not supported)"
            )
        mult, shift = per_channel_multipliers(self, out_c, 0)
        self.params = {**geometry_params(self, k_h, k_w), "out_c": out_c}
        self.mult = self.ctx.const(mult, "int32_t")
        self.shift = self.ctx.const(shift, "int32_t")

    def emit(self) -> str:
        b = self.inputs[2] if len(self.inputs) > 2 else None
        bias = self.ctx.ptr(b.index) if b is not None else "NULL"
        p = {
            k: self.params[k]
            for k in (
                "batches",
                "in_h",
                "in_w",
                "in_c",
                "out_h",
                "out_w",
                "out_c",
                "k_h",
                "k_w",
                "stride_h",
                "stride_w",
                "dilation_h",
                "dilation_w",
                "pad_h",
                "pad_w",
                "input_offset",
                "output_offset",
                "act_min",
                "act_max",
            )
        }
        return self.call(
            "conv_2d_params_t",
            p,
            f"conv_2d_s8(&p, {self.ctx.ptr(self.op.inputs[0], True)}, "
            f"{self.ctx.ptr(self.op.inputs[1])}, {bias}, {self.mult}, {self.shift}, "
            f"{self.ctx.ptr(self.op.outputs[0])}, {self.ctx.scratch(self.op)});",
        )

    def scratch_bytes(self) -> int:
        """The Helium kernel's buffers (im2col rows, records, repacked weights) when its fast
        path takes the layer (K <= MVE_CONV_MAX_K, mve_conv_2d.h)."""
        p = self.params
        if p["k_h"] * p["k_w"] * p["in_c"] > kernel_define("mve_conv_2d", "MVE_CONV_MAX_K"):
            return 0
        return kernel_define("conv_2d", "CONV_2D_SCRATCH_BYTES")

    def macs(self) -> int:
        p = self.params
        return p["batches"] * p["out_h"] * p["out_w"] * p["out_c"] * p["k_h"] * p["k_w"] * p["in_c"]
