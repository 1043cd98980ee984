"""The board interface (CONTRACTS §6) and the `BOARDS` registry.

Every board reidtool can build for is one class behind the same few methods, so `flash`,
`hil-eval`, `validate` and the tests never branch on a board's name: `generate` renders the
firmware project, `build` compiles it, `start` runs it and returns the URL of its serial port,
`stop` ends it, `open` gives a pyserial transport on that URL and `flash_commands` names what
would put the image on hardware. The per-board facts the templates and the Makefile need
(compiler, flags, memory regions) are plain data computed here in Python, never in a template.

Example:
    board = get_board("qemu-m55")
    url = board.start(project)      # socket://127.0.0.1:PORT
    with board.open(url) as port: ...
    board.stop()
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from toolchain.errors import BoardError, NotAvailableError
from toolchain.registry import Registry

BOARDS: Registry[type[Board]] = Registry("board")

# Flags every target compiles with: warnings are errors and no floating-point contraction,
# so the kernels' float steps (where the oracle has them) round exactly as the oracle's do.
COMMON_CFLAGS = ("-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off")

DEFAULT_BAUD = 921600


@dataclass(frozen=True)
class MemoryRegion:
    """One linker-script MEMORY entry (addresses as the CPU sees them)."""

    name: str
    origin: int
    length: int
    attributes: str = "rwx"
    note: str = ""


@dataclass(frozen=True)
class Toolchain:
    """The programs and flags one board's Makefile uses.

    Args:
        cc: C compiler (`arm-none-eabi-gcc` or `gcc`).
        size: `size` program matching it (for `build_report.json`).
        objcopy: objcopy for `.bin`/`.hex`; empty for a host executable.
        cflags / ldflags / ldlibs: the compiler and linker flags.
        package: the Debian package that provides `cc` (named when it is missing).
    """

    cc: str
    size: str
    objcopy: str
    cflags: tuple[str, ...]
    ldflags: tuple[str, ...]
    ldlibs: tuple[str, ...]
    package: str


@dataclass(frozen=True)
class BoardFacts:
    """Everything the templates may print about a board; `asdict()` goes into the context."""

    name: str
    template_dir: str
    cpu: str
    counter_unit: str
    executable: str
    toolchain: Toolchain
    memory: tuple[MemoryRegion, ...] = ()
    sections: dict[str, str] = field(default_factory=dict)
    uart_rx_ring_size: int = 8192
    defines: dict[str, str] = field(default_factory=dict)  # values the templates print
    cdefines: dict[str, str] = field(default_factory=dict)  # -D flags in the Makefile
    status: str = "runs in tests"
    #: the core runs the Helium (MVE) kernels: the code generator plans their arena scratch
    helium: bool = False

    def as_context(self) -> dict[str, Any]:
        """Plain data for Jinja (tuples become lists, numbers stay numbers)."""
        data = asdict(self)
        for region in data["memory"]:
            region["origin_hex"] = f"0x{region['origin']:08X}"
            region["length_hex"] = f"0x{region['length']:X}"
        return data


class Board:
    """One board: generate, build, start, stop, open, flash_commands (CONTRACTS §6).

    Subclasses set `facts` and implement `start`/`stop`/`flash_commands` where the board can do
    them; what a board cannot do raises a typed error naming the board, never passes silently.
    """

    facts: BoardFacts

    def __init__(self) -> None:
        self.process = None  # the started board's `process.BoardProcess`, if any
        self.url: str | None = None

    @property
    def name(self) -> str:
        return self.facts.name

    def generate(
        self,
        project: str | Path,
        model_path: str | Path | None = None,
        *,
        backend: str = "builtin",
        name: str = "reid",
        command: str | None = None,
    ) -> Path:
        """Render the firmware project for this board (model defaults to project/model.tflite)."""
        from toolchain.boards.project import generate_project

        project = Path(project)
        model = Path(model_path) if model_path is not None else project / "model.tflite"
        return generate_project(
            model, project, board=self.name, backend=backend, name=name, command=command
        )

    def build(self, project: str | Path):
        """Compile the project with this board's toolchain; returns a `BuildReport`."""
        from toolchain.boards.build import build_project

        return build_project(project)

    def start(self, project: str | Path, **kwargs: Any) -> str:
        """Run the built firmware; returns the URL of its serial port."""
        raise NotAvailableError(
            f"board '{self.name}' cannot be started from reidtool; "
            f"flash it (`reidtool flash --board {self.name}`) and give --port URL"
        )

    def stop(self) -> None:
        """End the process this object started (its whole process group)."""
        if self.process is not None:
            self.process.stop()
            self.process = None
            self.url = None

    def open(self, url: str, baudrate: int = DEFAULT_BAUD, timeout: float = 1.0):
        """A pyserial port on `url` (socket://, a pty path or a real serial port)."""
        import serial

        try:
            return serial.serial_for_url(url, baudrate=baudrate, timeout=timeout)
        except (serial.SerialException, ValueError, OSError) as err:
            raise BoardError(f"board '{self.name}': cannot open {url!r}: {err}") from err

    def flash_commands(self, project: str | Path) -> list[list[str]]:
        """The commands that put the built image on the board (empty: nothing to flash)."""
        return []

    def require_built(self, project: str | Path) -> Path:
        """The project's firmware image; a clear error when `build` has not been run."""
        image = Path(project) / self.facts.executable
        if not image.is_file():
            raise BoardError(
                f"{image} does not exist: build the project first (`reidtool build {project}`)"
            )
        return image


def get_board(name: str | Board | type[Board]) -> Board:
    """A board instance from a name (aliases accepted), a class or an instance."""
    if isinstance(name, Board):
        return name
    if isinstance(name, type) and issubclass(name, Board):
        return name()
    _load_all()
    return BOARDS.get(str(name))()


def canonical_board_name(name: str) -> str:
    """The registered name for `name` or one of its aliases (`STM32N6` → `STM32N6570-DK`)."""
    _load_all()
    return BOARDS.canonical(name)


def _load_all() -> None:
    """Import the board modules so their decorators fill `BOARDS`."""
    from toolchain.boards import host, qemu_m55, stm32n6  # noqa: F401
