"""Marked blocks in docs/results.md: each benchmark script owns the text between its own
`<!-- begin: written by benchmarks/NAME -->` and `<!-- end: ... -->` comments and rewrites only
that, keeping everything else in the file (other scripts' blocks, hand-written text)."""

from __future__ import annotations

from pathlib import Path


def markers(script: str) -> tuple[str, str]:
    """The begin and end comments of `script`'s block (e.g. "tgc2020.py")."""
    return (
        f"<!-- begin: written by benchmarks/{script} -->",
        f"<!-- end: written by benchmarks/{script} -->",
    )


def write_block(path: Path, script: str, text: str, legacy_title: str | None = None) -> None:
    """Put `text` between `script`'s markers in `path`; append the block when the file has none.

    A file without the markers that starts with `legacy_title` is the script's older, unmarked
    output and is replaced whole.
    """
    begin, end = markers(script)
    block = f"{begin}\n{text}{end}\n"
    old = path.read_text() if path.exists() else ""
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        new = head + block + rest.split(end, 1)[1].removeprefix("\n")
    elif not old.strip() or (legacy_title is not None and old.startswith(legacy_title)):
        new = block
    else:
        new = old.rstrip("\n") + "\n\n" + block
    path.write_text(new)
