"""How fast the virtual board's UART receives under `-icount shift=0`.

What is measured: wall-clock input bytes per second delivered to the qemu-m55 firmware (the
real application, CMSDK UART0 RX interrupt into the ring buffer) by `BoardSession.infer`,
with a stand-in network whose compute is negligible (4 outputs), for 64x32x3 crops; and the
same with a 128x64x3 crop. The board's instruction counter is printed to show the network's
share is small. Figures go to docs/boards.md.

Run:  .venv/bin/python benchmarks/qemu_uart_rx.py [--crops 10]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "boards"))

from boards_testlib import write_standin_network  # noqa: E402

from host.session import BoardSession  # noqa: E402
from host.transport import open_transport  # noqa: E402
from toolchain.boards import get_board  # noqa: E402
from toolchain.boards.build import build_project  # noqa: E402
from toolchain.boards.project import render_project  # noqa: E402


def measure(h: int, w: int, crops: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "fw"
        digest = write_standin_network(project, b"bench", h=h, w=w, n_out=4)
        render_project(project, board="qemu-m55", digest=digest.hex())
        build_project(project)
        board = get_board("qemu-m55")
        url = board.start(project)
        try:
            with open_transport(url) as link:
                session = BoardSession(link, expected_hash=hashlib.sha256(b"bench").digest())
                session.connect()
                rng = np.random.default_rng(0)
                data = [
                    rng.integers(0, 256, h * w * 3, dtype=np.uint8).tobytes() for _ in range(crops)
                ]
                session.infer(data[0])  # warm up
                t0 = time.perf_counter()
                counts = [session.infer(d)[1] for d in data]
                dt = time.perf_counter() - t0
        finally:
            board.stop()
    size = h * w * 3
    print(
        f"{h}x{w}x3 ({size} B): {crops / dt:.1f} crops/s, {crops * size / dt / 1000:.1f} kB/s, "
        f"network {int(np.mean(counts))} instructions per crop"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--crops", type=int, default=10)
    args = parser.parse_args()
    measure(64, 32, args.crops)
    measure(128, 64, max(2, args.crops // 4))


if __name__ == "__main__":
    main()
