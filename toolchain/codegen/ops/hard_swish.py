"""HARD_SWISH, int8: x * relu6(x + 3) / 6.

A 256-entry table probed from the oracle at generation time (see `_lut_common`); the C only
looks up (kernel `lut_s8`).
"""

from __future__ import annotations

from toolchain.codegen.ops._lut_common import LookupTable
from toolchain.codegen.ops.base import OPS


@OPS.register("HARD_SWISH")
class HardSwish(LookupTable):
    pass
