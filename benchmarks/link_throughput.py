"""Link throughput of the reidtool protocol beside ST's 33-byte + 0xAA scheme, on one link model.

What is measured: crops per second and payload efficiency (crop bytes delivered per second /
line capacity, 921600 baud 8N1 = 92160 bytes/s) of `BoardSession.infer` talking to the real
firmware application (firmware_templates/app, host gcc -O2, the test stand-in network) through
a rate-limited link: every byte costs 10 bit times in its direction (full duplex), and every
transfer arrives a fixed USB-serial turnaround latency after its last byte.

The latency modelled: 1 ms each way (a USB full-speed bulk endpoint is polled once per 1 ms
frame; ST-LINK's virtual COM port sits there), and 16 ms each way (an FTDI bridge with its
default latency timer) as the pessimistic row.

ST's scheme (`stedgeai validate`): the host sends 33-byte packets and waits for one 0xAA byte
after each. Its peer here is a Python responder that answers each packet at once (zero device
time), over the very same link model, so its figure is an upper bound for that scheme.

Run:  .venv/bin/python benchmarks/link_throughput.py [--crops 8] [--big]
Goal: >= 90 % payload efficiency with 64x32x3 crops at 1 ms latency.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "host"))

from host_testlib import FirmwareProcess, build_firmware  # noqa: E402

from host.errors import LinkTimeoutError  # noqa: E402
from host.session import BoardSession  # noqa: E402
from host.transport import Transport, open_transport  # noqa: E402

BAUD = 921600


class ShapedLink(Transport):
    """Wraps a transport in a full-duplex rate-limited link with a fixed one-way latency."""

    def __init__(self, inner: Transport, baud: int = BAUD, latency: float = 0.001):
        self.inner, self.url = inner, f"shaped({inner.url})"
        self.byte_time, self.latency = 10.0 / baud, latency
        self._down: list[tuple[float, bytes]] = []
        self._up: list[tuple[float, bytes]] = []
        self._down_free = self._up_free = 0.0
        self._cv = threading.Condition()
        self._stop = False
        self._threads = [
            threading.Thread(target=f, daemon=True) for f in (self._downlink, self._uplink)
        ]
        for t in self._threads:
            t.start()

    def write(self, data: bytes, timeout: float) -> None:
        with self._cv:
            now = time.monotonic()
            self._down_free = max(self._down_free, now) + len(data) * self.byte_time
            self._down.append((self._down_free + self.latency, bytes(data)))
            self._cv.notify_all()

    def _downlink(self) -> None:
        while not self._stop:
            with self._cv:
                while not self._down and not self._stop:
                    self._cv.wait(0.1)
                if self._stop:
                    return
                due, data = self._down[0]
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            with self._cv:
                self._down.pop(0)
            self.inner.write(data, timeout=5.0)

    def _uplink(self) -> None:
        while not self._stop:
            try:
                data = self.inner.read(4096, 0.05)
            except LinkTimeoutError:
                continue
            except Exception:  # noqa: BLE001 - the peer closed: the benchmark is ending
                return
            with self._cv:
                now = time.monotonic()
                self._up_free = max(self._up_free, now) + len(data) * self.byte_time
                self._up.append((self._up_free + self.latency, data))
                self._cv.notify_all()

    def read(self, n: int, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                now = time.monotonic()
                if self._up and self._up[0][0] <= now:
                    due, data = self._up.pop(0)
                    if len(data) > n:
                        self._up.insert(0, (due, data[n:]))
                        data = data[:n]
                    return data
                if now >= deadline:
                    raise LinkTimeoutError(f"{self.url}: no byte within {timeout:.3f} s")
                nxt = self._up[0][0] if self._up else deadline
                self._cv.wait(max(0.0, min(nxt, deadline) - now))

    def close(self) -> None:
        self._stop = True
        with self._cv:
            self._cv.notify_all()


class StPeer(Transport):
    """ST's device side: one 0xAA after every 33 bytes received."""

    url = "st-peer"

    def __init__(self):
        self._count, self._out, self._cv = 0, bytearray(), threading.Condition()

    def write(self, data: bytes, timeout: float) -> None:
        with self._cv:
            self._count += len(data)
            while self._count >= 33:
                self._count -= 33
                self._out += b"\xaa"
            self._cv.notify_all()

    def read(self, n: int, timeout: float) -> bytes:
        with self._cv:
            if not self._out:
                self._cv.wait(timeout)
            if not self._out:
                raise LinkTimeoutError("st-peer: idle")
            data = bytes(self._out[:n])
            del self._out[:n]
            return data


def st_scheme(crop: bytes, latency: float) -> float:
    """Seconds to send one crop with 33-byte packets, each acknowledged by 0xAA."""
    link = ShapedLink(StPeer(), latency=latency)
    t0 = time.monotonic()
    for off in range(0, len(crop), 33):
        link.write(crop[off : off + 33].ljust(33, b"\0"), timeout=1.0)  # fixed-size packets
        while link.read(1, timeout=1.0) != b"\xaa":
            pass
    seconds = time.monotonic() - t0
    link.close()
    return seconds


def ours(exe: Path, crops: list[bytes], latency: float) -> tuple[float, dict]:
    with FirmwareProcess(exe) as fw, open_transport(fw.path) as raw:
        link = ShapedLink(raw, latency=latency)
        session = BoardSession(link, timeout=max(1.0, 40 * latency), infer_timeout=10.0)
        session.connect()
        session.infer(crops[0])  # warm-up
        t0 = time.monotonic()
        for _ in session.infer_many(crops):
            pass
        seconds = time.monotonic() - t0
        link.close()
        return seconds, session.stats.__dict__


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--crops", type=int, default=8, help="64x32x3 crops per measurement")
    ap.add_argument("--big", action="store_true", help="also 2 crops of 256x128x3 (96 KiB)")
    args = ap.parse_args()
    capacity = BAUD / 10.0
    rng = np.random.default_rng(0)
    sizes = [(64, 32, args.crops)] + ([(256, 128, 2)] if args.big else [])
    print(
        f"link: {BAUD} baud 8N1 = {capacity:.0f} B/s per direction; reidtool protocol vs ST "
        "33-byte + 0xAA"
    )
    print(f"{'crop':>10} {'latency':>8} {'scheme':>9} {'crops/s':>8} {'efficiency':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for h, w, n in sizes:
            exe = build_firmware(Path(tmp) / f"fw{h}", profiling=False, h=h, w=w, sanitize=False)
            crops = [rng.integers(0, 256, h * w * 3, dtype=np.uint8).tobytes() for _ in range(n)]
            for latency in (0.001, 0.016):
                sec, stats = ours(exe, crops, latency)
                eff = len(crops[0]) * n / sec / capacity
                print(f"{h}x{w}x3 {latency * 1e3:6.0f}ms {'reidtool':>9} {n / sec:8.2f} {eff:9.1%}")
                if h == 64:
                    st = st_scheme(crops[0], latency)
                    print(
                        f"{h}x{w}x3 {latency * 1e3:6.0f}ms {'ST 33+AA':>9} {1 / st:8.2f} "
                        f"{len(crops[0]) / st / capacity:9.1%}"
                    )


if __name__ == "__main__":
    main()
