"""What MAX_POOL_2D and AVERAGE_POOL_2D share: checks, padding and the `pool_params_t` fields.

The oracle's int8 pooling does not requantize: input and output share one scale and zero
point (checked here). Padding and output size follow `ComputePaddingHeightWidth`; the window
is clipped to the image and AVERAGE divides by the taps read, rounding half away from zero.
"""

from __future__ import annotations

from toolchain.codegen.ops.base import INT8, OpEmitter
from toolchain.codegen.planner import streaming_overlap
from toolchain.codegen.quant import activation_range, compute_padding


class Pool2D(OpEmitter):
    """A 2-D pooling op; subclasses name their kernel and its C function."""

    function = ""

    def prepare(self) -> None:
        self.need_inputs(1)
        x = self.need_dtype(self.inputs[0], INT8)
        y = self.need_dtype(self.outputs[0], INT8)
        self.need_per_tensor(x)
        self.need_per_tensor(y)
        if (x.scale, x.zero_point) != (y.scale, y.zero_point):
            raise self.fail(f"{x.describe()} and {y.describe()}: expected the same quantization")
        if len(x.shape) != 4 or len(y.shape) != 4:
            raise self.fail(f"{x.describe()}: expected NHWC tensors of rank 4")
        o = self.op.options
        fh, fw = o.get("filter_h", 0), o.get("filter_w", 0)
        sh, sw = o.get("stride_h", 0), o.get("stride_w", 0)
        if min(fh, fw, sh, sw) < 1:
            raise self.fail(f"filter ({fh}, {fw}) and strides ({sh}, {sw}) must be >= 1")
        if o.get("padding", 0) not in (0, 1):
            raise self.fail(f"padding code {o.get('padding')} is not SAME (0) or VALID (1)")
        n, h, w, c = x.shape
        out_h, pad_h = compute_padding(o.get("padding", 0), h, fh, sh)
        out_w, pad_w = compute_padding(o.get("padding", 0), w, fw, sw)
        if tuple(y.shape) != (n, out_h, out_w, c):
            raise self.fail(f"{y.describe()}: expected shape {(n, out_h, out_w, c)}")
        if out_h < 1 or out_w < 1 or fh <= pad_h or fw <= pad_w:
            raise self.fail("a pooling window would read no input")
        lo, hi = activation_range(
            o.get("activation", 0), y.scale, y.zero_point, y.dtype, self.where()
        )
        self.params = {
            "batches": n,
            "in_h": h,
            "in_w": w,
            "channels": c,
            "out_h": out_h,
            "out_w": out_w,
            "filter_h": fh,
            "filter_w": fw,
            "stride_h": sh,
            "stride_w": sw,
            "pad_h": pad_h,
            "pad_w": pad_w,
            "act_min": lo,
            "act_max": hi,
        }

    def emit(self) -> str:
        return self.call(
            "pool_params_t",
            self.params,
            f"{self.function}(&p, {self.ctx.ptr(self.op.inputs[0], True)}, "
            f"{self.ctx.ptr(self.op.outputs[0])});",
        )

    def overlap_bytes(self) -> int:
        """Output rows may trail the input rows still to be read (both pool kernels walk
        output rows in order; see `planner.streaming_overlap`)."""
        p = self.params
        return streaming_overlap(
            p["batches"],
            p["in_h"],
            p["in_w"] * p["channels"],
            p["out_h"],
            p["out_w"] * p["channels"],
            p["stride_h"],
            p["pad_h"],
        )

    def macs(self) -> int:
        return self.outputs[0].size * self.params["filter_h"] * self.params["filter_w"]
