"""Build a generated project with make and report its section sizes.

`build_project` runs the project's own Makefile (so `reidtool build` and a user's `make` give
the same image), then reads the image's sections with `size -A` and sorts them into text,
rodata (weights included, also given apart), data and bss. `build_report.json` holds the
figures that a chain copies into metrics.json["benchmark"]["firmware"].
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

from toolchain.boards.base import Toolchain, get_board
from toolchain.boards.project import read_project
from toolchain.errors import BoardError, ToolMissingError
from toolchain.files import atomic_write_json

REPORT_FILE = "build_report.json"

# Which section goes in which column (prefix match); anything else is ignored (debug info).
SECTION_KINDS = {
    ".vectors": "text",
    ".text": "text",
    ".init": "text",
    ".fini": "text",
    ".plt": "text",
    ".ARM.exidx": "rodata",
    ".rodata": "rodata",
    ".eh_frame": "rodata",
    ".reid_weights": "rodata",
    ".data": "data",
    ".init_array": "data",
    ".fini_array": "data",
    ".got": "data",
    ".bss": "bss",
    ".stack": "bss",
    ".heap": "bss",
}


@dataclass
class BuildReport:
    """Sizes in bytes of the built image (CONTRACTS §3 benchmark.firmware, plus detail)."""

    board: str
    text: int
    rodata: int
    data: int
    bss: int
    weights: int
    image: str
    outputs: list[str] = field(default_factory=list)
    sections: dict[str, int] = field(default_factory=dict)

    def firmware_block(self) -> dict[str, int | str]:
        """The metrics.json["benchmark"]["firmware"] block."""
        return {
            "board": self.board,
            "text": self.text,
            "rodata": self.rodata,
            "data": self.data,
            "bss": self.bss,
        }

    def table(self) -> str:
        """The size table `reidtool build` prints."""
        rows = [
            ("text", self.text),
            ("rodata", self.rodata),
            ("  of which weights", self.weights),
            ("data", self.data),
            ("bss", self.bss),
        ]
        lines = [f"{self.board}: {self.image}", f"{'section':<20}{'bytes':>12}"]
        lines += [f"{label:<20}{value:>12,}" for label, value in rows]
        return "\n".join(lines)


def require_tool(toolchain: Toolchain) -> None:
    """`ToolMissingError` (exit 2) naming the compiler and its Debian package when absent."""
    if shutil.which(toolchain.cc) is None:
        raise ToolMissingError(
            toolchain.cc,
            f"Install the Debian package {toolchain.package} "
            f"(apt-get install {toolchain.package}).",
        )
    if shutil.which("make") is None:
        raise ToolMissingError("make", "Install the Debian package make (apt-get install make).")


def run_make(
    project: Path, targets: list[str], toolchain: Toolchain, jobs: int | None = None
) -> str:
    """Run make in `project`; a failure raises `BoardError` with the compiler's last lines."""
    require_tool(toolchain)
    jobs = jobs or min(2, os.cpu_count() or 1)
    proc = subprocess.run(
        ["make", "-C", str(project), f"-j{jobs}", *targets],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-30:])
        raise BoardError(f"building {project} failed (make {' '.join(targets)}):\n{tail}")
    return proc.stdout


def parse_size_a(text: str) -> dict[str, int]:
    """Sections and sizes from `size -A` output."""
    sections: dict[str, int] = {}
    for line in text.splitlines():
        m = re.match(r"^(\.\S+)\s+(\d+)\s+\d+\s*$", line.strip())
        if m:
            sections[m.group(1)] = sections.get(m.group(1), 0) + int(m.group(2))
    return sections


def classify(sections: dict[str, int]) -> dict[str, int]:
    """Sum sections into text/rodata/data/bss and weights."""
    totals = {"text": 0, "rodata": 0, "data": 0, "bss": 0, "weights": 0}
    for name, size in sections.items():
        for prefix, kind in SECTION_KINDS.items():
            if name == prefix or name.startswith(prefix + "."):
                totals[kind] += size
                if prefix == ".reid_weights":
                    totals["weights"] += size
                break
    return totals


def build_project(
    project: str | Path, *, jobs: int | None = None, echo: bool = False
) -> BuildReport:
    """Build `project` (a folder from `generate_project`) and write `build_report.json`.

    Args:
        project: the project folder.
        jobs: make's -j (default: up to 2).
        echo: print the size table.

    Returns:
        The `BuildReport`.

    Raises:
        ToolMissingError: the board's compiler is not installed (exit 2).
        BoardError: make failed; the message holds the compiler's last lines.
    """
    project = Path(project)
    board = get_board(read_project(project)["board"])
    toolchain = board.facts.toolchain
    run_make(project, [], toolchain, jobs)
    image = project / board.facts.executable
    if not image.is_file():
        raise BoardError(f"make finished but {image} was not produced")
    size_tool = toolchain.size if shutil.which(toolchain.size) else "size"
    proc = subprocess.run([size_tool, "-A", str(image)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise BoardError(f"{size_tool} -A {image} failed: {proc.stderr.strip()}")
    sections = parse_size_a(proc.stdout)
    totals = classify(sections)
    outputs = [
        p.name for p in (image, project / "firmware.bin", project / "firmware.hex") if p.is_file()
    ]
    report = BuildReport(
        board=board.name, image=image.name, outputs=outputs, sections=sections, **totals
    )
    atomic_write_json(project / REPORT_FILE, asdict(report))
    if echo:
        print(report.table())
    return report
