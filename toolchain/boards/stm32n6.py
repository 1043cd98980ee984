"""STM32N6570-DK (alias STM32N6): Cortex-M55 at up to 800 MHz, DWT cycle counts, USART1 on the
ST-LINK virtual COM port.

Development boot mode: the debugger loads the ELF into AXISRAM and starts it, so code,
weights, arena and stack all live in AXISRAM1/2 (the zoo's OSNet-0.25 and MobileNetV2-0.35 fit;
`boot_commands(project, "flash")` is the external-flash flow, signed, behind a first-stage boot
loader, with the weights at 0x70380000). Status: compiled and linked in CI, not yet run on
hardware. `flash_commands` are STM32_Programmer_CLI calls; `flash --dry-run` prints them
exactly.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from toolchain.boards.base import BOARDS, DEFAULT_BAUD, Board, BoardFacts, MemoryRegion
from toolchain.boards.qemu_m55 import KIB, arm_toolchain
from toolchain.errors import UsageError

PROGRAMMER = "STM32_Programmer_CLI"
SIGNING_TOOL = "STM32_SigningTool_CLI"
PROGRAMMER_HOW = (
    "It ships with STM32CubeProgrammer 2.18 or later "
    "(https://www.st.com/en/development-tools/stm32cubeprog.html); put its bin/ folder on PATH."
)
# The USART kernel clock after reset (HSI 64 MHz, no PLL set-up in this board package).
USART_CLOCK_HZ = 64_000_000


@BOARDS.register("STM32N6570-DK", aliases=("STM32N6",))
class Stm32N6Board(Board):
    """STM32N6570-DK in development boot mode; flashing goes through STM32_Programmer_CLI."""

    facts = BoardFacts(
        name="STM32N6570-DK",
        template_dir="stm32n6",
        cpu="Cortex-M55 (MVE) STM32N657X0, up to 800 MHz",
        helium=True,
        counter_unit="cycles",
        executable="firmware.elf",
        toolchain=arm_toolchain(),
        memory=(
            # The first KiB of AXISRAM1 holds the signed-image header when the flash boot loader
            # copies the application there (boot_commands "flash"); code starts after it.
            MemoryRegion(
                "AXISRAM1", 0x34000400, 1023 * KIB, "rwx", "code, rodata, weights (after 1 KiB)"
            ),
            MemoryRegion("AXISRAM2", 0x34100000, 1024 * KIB, "rw", "data, bss, arena, stack"),
        ),
        sections={
            "text": "AXISRAM1",
            "rodata": "AXISRAM1",
            "weights": "AXISRAM1",
            "data": "AXISRAM2",
            "bss": "AXISRAM2",
            "stack": "AXISRAM2",
        },
        uart_rx_ring_size=8192,
        defines={
            "RCC_BASE": "0x56028000",
            "GPIOE_BASE": "0x56021000",
            "USART1_BASE": "0x52001000",
            "BOARD_BAUD": str(DEFAULT_BAUD),
            "BOARD_BRR": str(round(USART_CLOCK_HZ / DEFAULT_BAUD)),
            "BOARD_USART_CLOCK_HZ": str(USART_CLOCK_HZ),
            "STACK_SIZE": "0x4000",
        },
        cdefines={"BOARD_USART1_IRQ": "159"},
        status="compiled, not yet run on hardware",
    )

    def flash_commands(self, project: str | Path, boot: str = "development") -> list[list[str]]:
        """Development boot: load the ELF into AXISRAM over SWD and start it at its entry point.
        `boot="flash"`: sign and program the external flash (`boot_commands`), with the NPU
        weights file of a `--backend stedgeai` project when it has one."""
        weights = None
        if boot == "flash":
            weights = _project_weights(project)
        return boot_commands(project, boot, weights=weights)


#: STM32N6570-DK external flash (MX66UW1G45G on XSPI2), its external loader (in
#: STM32CubeProgrammer's bin/ExternalLoader/) and the addresses of the flash boot flow ST's
#: STM32N6 applications use: first-stage boot loader, application, then the network weights.
N6_EXTERNAL_LOADER = "MX66UW1G45G_STM32N6570-DK.stldr"
N6_FSBL_ADDRESS = "0x70000000"
N6_APP_ADDRESS = "0x70100000"
N6_WEIGHTS_ADDRESS = "0x70380000"
#: The load-and-run first-stage boot loader: ST's `ai_fsbl.hex` (STM32N6 application code,
#: Binary/) or STM32CubeN6's FSBL_LRUN template, copied into the project by the user.
N6_FSBL_FILE = "ai_fsbl.hex"
BOOT_MODES = ("development", "flash")


def _project_weights(project: str | Path) -> Path | None:
    """The external-flash weights file a generated project names (ST's Neural-ART network)."""
    path = Path(project) / "project.json"
    try:
        network = json.loads(path.read_text()).get("network", {})
    except (OSError, ValueError):
        return None
    name = (network.get("stedgeai") or {}).get("weights_file")
    return Path(project).resolve() / name if name else None


def external_loader() -> str:
    """The N6570-DK's external loader next to STM32_Programmer_CLI, else its bare file name."""
    found = shutil.which(PROGRAMMER)
    if found:
        candidate = Path(found).resolve().parent / "ExternalLoader" / N6_EXTERNAL_LOADER
        if candidate.is_file():
            return str(candidate)
    return N6_EXTERNAL_LOADER


def boot_commands(
    project: str | Path,
    mode: str = "development",
    weights: str | Path | None = None,
    fsbl: str | Path | None = None,
) -> list[list[str]]:
    """The exact commands to run the firmware on an STM32N6570-DK.

    development (boot switches to the right): load the ELF into AXISRAM over SWD and start it.
    flash (program in development mode, then boot switches to the left and power-cycle): the
    boot ROM starts the first-stage boot loader at 0x70000000 (`fsbl`, default
    `<project>/ai_fsbl.hex`), which copies the application from 0x70100000 to AXISRAM
    (0x34000000) and runs it at 0x34000400, where the linker script puts the vector table; the
    application is signed as second-stage payload first (`STM32_SigningTool_CLI ... -t ssbl`).
    `weights` (e.g. ST's Neural-ART `<name>_atonbuf.xSPI2.raw`) go to 0x70380000.
    """
    if mode not in BOOT_MODES:
        raise UsageError(f"N6 boot mode {mode!r}: expected one of {', '.join(BOOT_MODES)}")
    project = Path(project).resolve()
    elf, binary = project / "firmware.elf", project / "firmware.bin"
    connect = [PROGRAMMER, "-c", "port=SWD", "mode=HOTPLUG"]
    if mode == "development":
        return [[*connect, "-w", str(elf), "-s"]]
    signed = project / "firmware_signed.bin"
    fsbl = Path(fsbl) if fsbl is not None else project / N6_FSBL_FILE
    extload = [*connect, "-el", external_loader(), "-hardRst", "-w"]
    commands = [
        [
            SIGNING_TOOL,
            "-s",
            "-bin",
            str(binary),
            "-nk",
            "-t",
            "ssbl",
            "-hv",
            "2.3",
            "-o",
            str(signed),
        ],
        # An Intel hex file carries its addresses; a raw binary is given one.
        [*extload, str(fsbl)] + ([] if fsbl.suffix == ".hex" else [N6_FSBL_ADDRESS]),
        [*extload, str(signed), N6_APP_ADDRESS],
    ]
    if weights is not None:
        commands.append([*extload, str(weights), N6_WEIGHTS_ADDRESS])
    return commands
