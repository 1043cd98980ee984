"""RELU_N1_TO_1, int8: min(max(x, -1), 1), requantized from the input to the output quantization.

A 256-entry table probed from the oracle at generation time (see `_lut_common`); the C only
looks up (kernel `lut_s8`).
"""

from __future__ import annotations

from toolchain.codegen.ops._lut_common import LookupTable
from toolchain.codegen.ops.base import OPS


@OPS.register("RELU_N1_TO_1")
class ReluN1To1(LookupTable):
    pass
