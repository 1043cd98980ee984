"""ADD: int8 addition with broadcasting (kernel `add_s8`), the oracle's quantized prepare."""

from __future__ import annotations

from toolchain.codegen.ops._elementwise import broadcast_shape, check_binary, emit_binary
from toolchain.codegen.ops.base import OPS, OpEmitter, kernel_define
from toolchain.codegen.quant import activation_range, quantize_multiplier

LEFT_SHIFT = 20  # int8/uint8 inputs are shifted left by 20 before scaling (add.cc)


def add_sub_params(em: OpEmitter) -> dict[str, int]:
    """Multipliers of quantized ADD/SUB: inputs scaled to 2·max(scale), output rescaled."""
    a, b, y = em.inputs[0], em.inputs[1], em.outputs[0]
    twice_max = 2.0 * max(float(a.scale), float(b.scale))
    real1 = float(a.scale) / twice_max
    real2 = float(b.scale) / twice_max
    real_out = twice_max / (float(1 << LEFT_SHIFT) * float(y.scale))
    if not real_out < 1.0:
        raise em.fail(
            f"the output multiplier {real_out:g} must be < 1 (output scale {y.scale:g} is "
            f"too small for input scales {a.scale:g}, {b.scale:g}); the oracle rejects it too"
        )
    m1, s1 = quantize_multiplier(real1)
    m2, s2 = quantize_multiplier(real2)
    mo, so = quantize_multiplier(real_out)
    lo, hi = activation_range(
        em.op.options.get("activation", 0), y.scale, y.zero_point, y.dtype, em.where()
    )
    return {
        "input1_offset": -a.zero_point,
        "input2_offset": -b.zero_point,
        "output_offset": y.zero_point,
        "left_shift": LEFT_SHIFT,
        "input1_multiplier": m1,
        "input1_shift": s1,
        "input2_multiplier": m2,
        "input2_shift": s2,
        "output_multiplier": mo,
        "output_shift": so,
        "act_min": lo,
        "act_max": hi,
    }


@OPS.register("ADD")
class Add(OpEmitter):
    kernels = ("add",)
    elementwise = True

    def prepare(self) -> None:
        check_binary(self)
        self.shape = broadcast_shape(self)
        self.params = add_sub_params(self)

    def emit(self) -> str:
        return emit_binary(self, "add_params_t", "add_s8", scratch=True)

    def scratch_bytes(self) -> int:
        """The Helium kernel's two scale tables, used on rows of >= 512 elements (add.c)."""
        if self.outputs[0].size < kernel_define("add", "ADD_TABLE_MIN_ELEMENTS"):
            return 0
        return kernel_define("add", "ADD_SCRATCH_BYTES")

    def macs(self) -> int:
        return self.outputs[0].size
