"""Boards: firmware projects rendered from templates, built, flashed and started (CONTRACTS §6).

`BOARDS` holds one class per board (`qemu-m55`, `host`, `STM32N6570-DK` alias `STM32N6`);
`project.generate_project`, `build.build_project`, `flash.flash`, `process.stop_boards` and
`deploy.deploy` are the entry points the CLI and the chains call.
"""

from __future__ import annotations

from toolchain.boards import host, qemu_m55, stm32n6  # noqa: F401  (fill BOARDS)
from toolchain.boards.base import BOARDS, Board, get_board

__all__ = ["BOARDS", "Board", "get_board"]
