"""Small image-file writers shared by the data tests (real files, real decoders)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

REAL_DATA = Path("/work/shared/data/tgc2020-reid")


def write_rgb(
    path: Path, height: int = 40, width: int = 20, seed: int = 0, fmt: str | None = None
) -> Path:
    """A random-noise RGB image (JPEG/PNG/BMP from the suffix)."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels, "RGB").save(path, format=fmt)
    return path


def write_png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims width x height, with a tiny (invalid) body: never decodable."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )
    return path


def write_truncated_jpeg(path: Path) -> Path:
    """A valid JPEG cut in half: the header reads, decoding fails."""
    write_rgb(path, 64, 32, seed=5)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def real_photos(n: int = 6) -> list[Path]:
    """A few real crops of the tgc2020-reid set (referenced in place, never copied)."""
    folder = REAL_DATA / "reid_test" / "query"
    if not folder.is_dir():
        return []
    return sorted(folder.glob("*.jpg"))[:n]
