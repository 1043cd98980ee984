"""The virtual board: Cortex-M55 with Helium (MVE) on QEMU `mps3-an547`.

It stands in for the STM32N6 in tests and CI: same core, same integer kernels, a CMSDK UART
reached over a local TCP socket. QEMU starts in Secure state, so the image is linked to the
secure aliases (ITCM 0x10000000 = 0x0, DTCM 0x30000000, ISRAM 0x31000000, QSPI 0x38000000,
UART0 0x59303000). With `-icount shift=0` one instruction takes one ns of virtual time and
SysTick (32 MHz) ticks every 31.25 instructions, so the firmware reports instruction counts.
"""

from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path
from typing import Any

from toolchain.boards.base import (
    BOARDS,
    COMMON_CFLAGS,
    Board,
    BoardFacts,
    MemoryRegion,
    Toolchain,
)
from toolchain.boards.process import BoardProcess
from toolchain.errors import BoardError, ToolMissingError

KIB = 1024
MIB = 1024 * KIB
QEMU = "qemu-system-arm"
ARM_GCC_PACKAGE = "gcc-arm-none-eabi"

ARM_CFLAGS = (
    "-mcpu=cortex-m55",
    "-mthumb",
    "-mfloat-abi=hard",
    *COMMON_CFLAGS,
    "-ffunction-sections",
    "-fdata-sections",
)
ARM_LDFLAGS = (
    "-nostartfiles",
    "--specs=nano.specs",
    "--specs=nosys.specs",
    "-Tlinker.ld",
    "-Wl,--gc-sections",
    "-Wl,-Map=firmware.map",
    "-Wl,--no-warn-rwx-segments",
)


def arm_toolchain() -> Toolchain:
    """arm-none-eabi-gcc for the Cortex-M55 boards (newlib-nano, no start files)."""
    return Toolchain(
        cc="arm-none-eabi-gcc",
        size="arm-none-eabi-size",
        objcopy="arm-none-eabi-objcopy",
        cflags=ARM_CFLAGS,
        ldflags=ARM_LDFLAGS,
        ldlibs=("-lc", "-lm", "-lgcc"),
        package=ARM_GCC_PACKAGE,
    )


@BOARDS.register("qemu-m55")
class QemuM55Board(Board):
    """Cortex-M55 on QEMU mps3-an547; `start` returns `socket://127.0.0.1:PORT`."""

    facts = BoardFacts(
        name="qemu-m55",
        template_dir="qemu_m55",
        cpu="Cortex-M55 (MVE) on QEMU mps3-an547",
        helium=True,
        counter_unit="instructions",
        executable="firmware.elf",
        toolchain=arm_toolchain(),
        memory=(
            MemoryRegion("ITCM", 0x10000000, 512 * KIB, "rx", "code; secure alias of 0x0"),
            MemoryRegion("DTCM", 0x30000000, 512 * KIB, "rw", "stack; secure alias of 0x20000000"),
            MemoryRegion(
                "ISRAM", 0x31000000, 4 * MIB, "rw", "data, bss, arena; alias of 0x21000000"
            ),
            MemoryRegion("QSPI", 0x38000000, 8 * MIB, "r", "weights; alias of 0x28000000"),
        ),
        sections={
            "text": "ITCM",
            "rodata": "ITCM",
            "weights": "QSPI",
            "data": "ISRAM",
            "bss": "ISRAM",
            "stack": "DTCM",
        },
        uart_rx_ring_size=8192,
        defines={
            "UART0_BASE": "0x59303000u",
            "UART0_RX_IRQ": "33",
            "BAUDDIV_VALUE": "16",
            "STACK_SIZE": "0x4000",
        },
    )

    def qemu_command(self, project: Path, port: int) -> list[str]:
        """The QEMU command line (CONTRACTS: nodelay, icount, no monitor)."""
        return [
            QEMU,
            "-M",
            "mps3-an547",
            "-nographic",
            "-monitor",
            "none",
            "-icount",
            "shift=0",
            "-kernel",
            str(Path(project) / self.facts.executable),
            "-serial",
            f"tcp:127.0.0.1:{port},server=on,wait=off,nodelay=on",
        ]

    def start(self, project: str | Path, *, timeout: float = 20.0, **kwargs: Any) -> str:
        """Start QEMU in its own process group, wait until its UART port accepts, return URL."""
        project = Path(project).resolve()
        self.require_built(project)
        if shutil.which(QEMU) is None:
            raise ToolMissingError(QEMU, "Install it with `apt-get install qemu-system-arm`.")
        port = _free_port()
        self.process = BoardProcess(
            self.qemu_command(project, port), project, self.name, project / "qemu.log"
        )
        deadline = time.monotonic() + timeout
        while True:
            if not self.process.alive():
                log = self.process.log_tail()
                self.stop()
                raise BoardError(f"QEMU exited while starting {project}: {log.strip()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise BoardError(
                        f"QEMU's UART on 127.0.0.1:{port} did not accept within {timeout} s"
                    ) from None
                time.sleep(0.05)
        self.url = f"socket://127.0.0.1:{port}"
        self.process.set_url(self.url)
        return self.url

    def flash_commands(self, project: str | Path) -> list[list[str]]:
        """The QEMU command (port 0 = chosen at start) is what 'flashing' this board means."""
        return [self.qemu_command(Path(project), 0)]


def _free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
