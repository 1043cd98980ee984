"""RELU6, int8: min(max(x, 0), 6), requantized from the input's to the output's quantization.

A 256-entry table probed from the oracle at generation time (see `_lut_common`); the C only
looks up (kernel `lut_s8`).
"""

from __future__ import annotations

from toolchain.codegen.ops._lut_common import LookupTable
from toolchain.codegen.ops.base import OPS


@OPS.register("RELU6")
class Relu6(LookupTable):
    pass
