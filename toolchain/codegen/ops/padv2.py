"""PADV2: PAD with an explicit constant (its third input) instead of the output zero point;
same checks and kernel as PAD (`pad.py` reads the constant when it is there)."""

from __future__ import annotations

from toolchain.codegen.ops.base import OPS
from toolchain.codegen.ops.pad import Pad


@OPS.register("PADV2")
class PadV2(Pad):
    pass
