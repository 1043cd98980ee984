"""The host board: the same application and kernels built with the host's gcc, as a process
whose UART is a pseudo-terminal.

It is the fast board for tests (no emulation) and, built with `make sanitize`, the
AddressSanitizer/UBSan board that fuzzing and bad-frame tests run against. The process prints
its pty's path and writes it to `$REIDTOOL_PTY_FILE`; the URL is that path, opened with pyserial.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from toolchain.boards.base import BOARDS, COMMON_CFLAGS, Board, BoardFacts, Toolchain
from toolchain.boards.process import BoardProcess
from toolchain.errors import BoardError


@BOARDS.register("host")
class HostBoard(Board):
    """The firmware as a Linux process on a pty; `start(..., sanitize=True)` runs the ASan build."""

    facts = BoardFacts(
        name="host",
        template_dir="host",
        cpu="host CPU (Linux process on a pseudo-terminal)",
        counter_unit="ns",
        executable="firmware",
        toolchain=Toolchain(
            cc="gcc",
            size="size",
            objcopy="",
            cflags=(*COMMON_CFLAGS, "-g"),
            ldflags=(),
            ldlibs=("-lm",),
            package="gcc",
        ),
        uart_rx_ring_size=8192,
    )

    def start(
        self, project: str | Path, *, sanitize: bool = False, timeout: float = 10.0, **kwargs: Any
    ) -> str:
        """Run `firmware` (or `firmware-asan` with `sanitize=True`); returns the pty path."""
        project = Path(project).resolve()
        exe = project / ("firmware-asan" if sanitize else self.facts.executable)
        if sanitize and not exe.is_file():
            from toolchain.boards.build import run_make

            run_make(project, ["sanitize"], self.facts.toolchain)
        self.require_built(project)
        pty_file = project / "board.pty"
        pty_file.unlink(missing_ok=True)
        env = {
            "ASAN_OPTIONS": "abort_on_error=0:exitcode=99",
            "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=98",
            **os.environ,
            "REIDTOOL_PTY_FILE": str(pty_file),
        }
        self.process = BoardProcess(
            [str(exe)], project, self.name, project / "host_board.log", env=env
        )
        deadline = time.monotonic() + timeout
        while not pty_file.is_file():
            if not self.process.alive() or time.monotonic() > deadline:
                log = self.process.log_tail()
                self.stop()
                raise BoardError(f"host board {exe} did not open its pty: {log.strip()}")
            time.sleep(0.01)
        self.url = pty_file.read_text().strip()
        self.process.set_url(self.url)
        return self.url

    def flash_commands(self, project: str | Path) -> list[list[str]]:
        """Nothing to flash: the executable is run by `start`."""
        return [[str(Path(project) / self.facts.executable)]]
