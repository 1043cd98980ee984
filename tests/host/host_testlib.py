"""Helpers for the host tests: build the firmware application (and the vector tool) with the
host's gcc under AddressSanitizer/UBSan, and run it on a pseudo-terminal.

The firmware is the real `firmware_templates/app` code (main.c.j2 rendered, protocol.c) linked
with a test board on a pty (`c/board_pty.c`) and a tiny stand-in network (`c/fake_network.c`):
the same bytes a board would answer, without waiting for the code generator or the boards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import jinja2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "firmware_templates" / "app"
CDIR = Path(__file__).resolve().parent / "c"
SAN = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
CFLAGS = ["-std=c11", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", *SAN]
FAKE_HASH = bytes(range(32))
SAN_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=99",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=98",
}


def have_gcc() -> bool:
    return shutil.which("gcc") is not None


def render_main(out: Path, name: str = "fake") -> Path:
    """Render main.c.j2 with the context the board engineer's generator passes."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    text = env.from_string((APP / "main.c.j2").read_text()).render(
        name=name,
        NAME=name.upper(),
        board="test-pty",
        reidtool_version="0.1.0",
        command="pytest",
        model_hash=FAKE_HASH.hex(),
        network={},
    )
    path = out / "main.c"
    path.write_text(text)
    return path


def build_firmware(
    out: Path,
    profiling: bool = True,
    h: int = 32,
    w: int = 16,
    model_hash: bytes | None = None,
    sanitize: bool = True,
) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    main = render_main(out)
    exe = out / "firmware"
    defs = [f"-DFAKE_H={h}", f"-DFAKE_W={w}"] + (["-DFAKE_PROFILING"] if profiling else [])
    if model_hash is not None:
        defs.append("-DFAKE_MODEL_HASH_BYTES=" + ",".join(f"0x{b:02x}" for b in model_hash))
    flags = CFLAGS if sanitize else [f for f in CFLAGS if f not in SAN and f != "-O1"] + ["-O2"]
    cmd = [
        "gcc",
        *flags,
        *defs,
        f"-I{CDIR}",
        f"-I{APP}",
        str(main),
        str(APP / "protocol.c"),
        str(CDIR / "fake_network.c"),
        str(CDIR / "board_pty.c"),
        "-o",
        str(exe),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"firmware build failed: {proc.stderr}")
    return exe


def tiny_int8_model(path: Path, h: int = 32, w: int = 16, dim: int = 64) -> Path:
    """A small int8 embedder with reidtool's I/O (uint8 pixels in, int8 embedding out)."""
    import tensorflow as tf

    from toolchain.quantization.quantizer import random_calibrated_int8

    inp = tf.keras.Input((h, w, 3))
    x = tf.keras.layers.Rescaling(1 / 127.5, -1.0)(inp)
    x = tf.keras.layers.Conv2D(8, 3, strides=2, activation="relu")(x)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    out = tf.keras.layers.Dense(dim)(x)
    path.write_bytes(random_calibrated_int8(tf.keras.Model(inp, out)))
    return path


def build_vector_tool(out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    exe = out / "vector_tool"
    cmd = [
        "gcc",
        *CFLAGS,
        f"-I{CDIR}",
        f"-I{APP}",
        str(CDIR / "vector_tool.c"),
        str(APP / "protocol.c"),
        "-o",
        str(exe),
    ]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return exe


def fake_network(x: np.ndarray, out_size: int = 64) -> bytes:
    """What c/fake_network.c computes: out[j] = (j + sum_i x[i] * ((i + j) % 7 + 1)) mod 256."""
    x = np.asarray(x, np.int64).reshape(-1)
    i = np.arange(x.size)
    return bytes(int((j + (x * ((i + j) % 7 + 1)).sum()) % 256) for j in range(out_size))


class FirmwareProcess:
    """The test firmware running on a pty; `path` is the pty to open. `stop()` returns stderr."""

    def __init__(self, exe: Path):
        self.proc = subprocess.Popen(
            [str(exe)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **SAN_ENV},
            start_new_session=True,
        )
        self.path = self.proc.stdout.readline().decode().strip()
        if not self.path.startswith("/dev/"):
            raise RuntimeError(
                f"firmware did not print its pty: {self.path!r} {self.proc.stderr.read()!r}"
            )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> tuple[int, str]:
        if getattr(self, "_result", None) is not None:
            return self._result
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        err = self.proc.stderr.read().decode(errors="replace")
        self.proc.stdout.close()
        self.proc.stderr.close()
        self._result = (self.proc.returncode, err)
        return self._result

    def __enter__(self) -> FirmwareProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
