"""`reidtool flash`: put a built project on its board.

qemu-m55 and host: start the board in the background (own process group, pid file in the
project), print its URL on its own line and the pid, and return the URL. STM32N6570-DK: run
STM32_Programmer_CLI; `dry_run=True` prints the exact commands instead.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

from toolchain.boards.base import get_board
from toolchain.boards.stm32n6 import PROGRAMMER, PROGRAMMER_HOW
from toolchain.errors import BoardError, ToolMissingError, UsageError
from toolchain.stedgeai import ZOO_VERSIONS, missing_tool


def flash(
    project: str | Path, board: str, dry_run: bool = False, boot: str = "development"
) -> str | None:
    """Flash or start `board` from `project`.

    `boot="flash"` (STM32N6570-DK only): sign and program the external flash instead of the
    development-mode load into AXISRAM (`stm32n6.boot_commands`).

    Returns:
        The board's URL for boards reidtool runs itself (qemu-m55, host), else None.
    """
    project = Path(project)
    the_board = get_board(board)
    if boot == "development":
        commands = the_board.flash_commands(project)
    elif the_board.name == "STM32N6570-DK":
        commands = the_board.flash_commands(project, boot=boot)
    else:
        raise UsageError(f"boot mode {boot!r} applies to STM32N6570-DK only, not {the_board.name}")
    if dry_run:
        for cmd in commands:
            print(shlex.join(cmd))
        return None
    if the_board.name in ("qemu-m55", "host"):
        url = the_board.start(project)
        print(url)
        print(f"pid {the_board.process.pid}")
        return url
    the_board.require_built(project)
    for cmd in commands:
        if shutil.which(cmd[0]) is None:
            if cmd[0] in ZOO_VERSIONS:  # ST's tools: the zoo's version and where to get it
                raise missing_tool(cmd[0])
            raise ToolMissingError(cmd[0], PROGRAMMER_HOW if cmd[0] == PROGRAMMER else "")
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            output = (proc.stdout + proc.stderr).strip()[-2000:]
            raise BoardError(f"{shlex.join(cmd)} failed ({proc.returncode}): {output}")
    return None
