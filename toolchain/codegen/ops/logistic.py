"""LOGISTIC, int8: 1 / (1 + exp(-x)); the converter gives output scale 1/256, zero point -128.

A 256-entry table probed from the oracle at generation time (see `_lut_common`); the C only
looks up (kernel `lut_s8`).
"""

from __future__ import annotations

from toolchain.codegen.ops._lut_common import LookupTable
from toolchain.codegen.ops.base import OPS


@OPS.register("LOGISTIC")
class Logistic(LookupTable):
    pass
