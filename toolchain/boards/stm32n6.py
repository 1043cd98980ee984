"""STM32N6570-DK (alias STM32N6): Cortex-M55 at up to 800 MHz, DWT cycle counts, USART1 on the
ST-LINK virtual COM port.

Development boot mode: the debugger loads the ELF into AXISRAM and starts it, so code,
weights, arena and stack all live in AXISRAM1/2 (the zoo's OSNet-0.25 and MobileNetV2-0.35 fit;
the external-flash flow belongs to the ST backend issue). Status: compiled and linked in CI,
not yet run on hardware. `flash_commands` are STM32_Programmer_CLI calls; `flash --dry-run`
prints them exactly.
"""

from __future__ import annotations

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
        counter_unit="cycles",
        executable="firmware.elf",
        toolchain=arm_toolchain(),
        memory=(
            MemoryRegion("AXISRAM1", 0x34000000, 1024 * KIB, "rwx", "code, rodata, weights"),
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
            "STACK_SIZE": "0x10000",
        },
        cdefines={"BOARD_USART1_IRQ": "159"},
        status="compiled, not yet run on hardware",
    )

    def flash_commands(self, project: str | Path) -> list[list[str]]:
        """Load the ELF into AXISRAM over SWD and start it at its entry point (dev boot)."""
        return boot_commands(project, "development")


#: STM32N6570-DK external flash (MX66UW1G45G on XSPI2) and its external loader.
N6_EXTERNAL_LOADER = "MX66UW1G45G_STM32N6570-DK.stldr"
N6_FSBL_ADDRESS = "0x70000000"
N6_WEIGHTS_ADDRESS = "0x70380000"


def boot_commands(
    project: str | Path, mode: str = "development", weights: str | Path | None = None
) -> list[list[str]]:
    """The exact commands to run the firmware on an STM32N6570-DK.

    development: load the ELF into AXISRAM over SWD and run it (BOOT1 switch to the right).
    flash: sign the binary as first-stage boot loader payload (`STM32_SigningTool_CLI ... -t
    ssbl`), program it and the weights into the external flash through the board's external
    loader (`-el`), then boot from flash (BOOT1 to the left).
    """
    project = Path(project).resolve()
    elf, binary = project / "firmware.elf", project / "firmware.bin"
    if mode == "development":
        return [[PROGRAMMER, "-c", "port=SWD", "mode=HOTPLUG", "-w", str(elf), "-s"]]
    if mode != "flash":
        raise UsageError(f"N6 boot mode {mode!r}: expected development or flash")
    signed = project / "firmware_signed.bin"
    commands = [
        [
            SIGNING_TOOL,
            "-bin",
            str(binary),
            "-nk",
            "-of",
            "0x80000000",
            "-t",
            "ssbl",
            "-hv",
            "2.3",
            "-o",
            str(signed),
            "-s",
        ],
        [
            PROGRAMMER,
            "-c",
            "port=SWD",
            "mode=HOTPLUG",
            "-el",
            N6_EXTERNAL_LOADER,
            "-w",
            str(signed),
            N6_FSBL_ADDRESS,
        ],
    ]
    if weights is not None:
        commands.append(
            [
                PROGRAMMER,
                "-c",
                "port=SWD",
                "mode=HOTPLUG",
                "-el",
                N6_EXTERNAL_LOADER,
                "-w",
                str(weights),
                N6_WEIGHTS_ADDRESS,
            ]
        )
    return commands
