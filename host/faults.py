"""A transport that damages the link on purpose: drops, corrupts and duplicates bytes, and
resets the board once.

Why: the session's retry, resync and reset handling can only be trusted if it is exercised on a
link that misbehaves the way a real UART does (a lost byte under load, a flipped bit, a board
that reboots mid-transfer). The faults are drawn from a seeded generator, so a failing run
repeats exactly.

Example:
    link = FaultyTransport(open_transport(url), rate=1e-3, seed=1, reset_after=20_000)
    session = BoardSession(link)
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from host.protocol import MsgType, encode_frame
from host.transport import Transport


@dataclass
class FaultCounts:
    """How many faults were injected, per kind and direction."""

    dropped: int = 0
    corrupted: int = 0
    duplicated: int = 0
    resets: int = 0
    by_direction: dict = field(default_factory=lambda: {"tx": 0, "rx": 0})

    @property
    def total(self) -> int:
        return self.dropped + self.corrupted + self.duplicated


class FaultyTransport(Transport):
    """Wraps a transport and injects byte faults in both directions.

    Args:
        inner: the real transport.
        rate: probability that a byte is damaged (each damaged byte is dropped, corrupted
            or duplicated with equal odds).
        seed: seed of the fault generator.
        reset_after: after this many bytes written, reset the board once (None: never).
        reset: what a reset does; by default a RESET request frame is slipped into the write
            stream, so the real firmware reboots its protocol state and sends BOOT, as after
            a power cycle. Pass a callable to reset differently (e.g. restart a process).
        directions: "tx", "rx" or "both".
    """

    def __init__(
        self,
        inner: Transport,
        rate: float = 1e-3,
        seed: int = 0,
        reset_after: int | None = None,
        reset=None,
        directions: str = "both",
    ):
        self.inner = inner
        self.url = f"faulty({inner.url})"
        self.rate = float(rate)
        self.rng = random.Random(seed)
        self.reset_after = reset_after
        self._reset = reset
        self.directions = directions
        self.written = 0
        self.counts = FaultCounts()

    def _damage(self, data: bytes, direction: str) -> bytes:
        if self.rate <= 0 or self.directions not in (direction, "both"):
            return data
        out = bytearray()
        for byte in data:
            if self.rng.random() >= self.rate:
                out.append(byte)
                continue
            self.counts.by_direction[direction] += 1
            kind = self.rng.randrange(3)
            if kind == 0:
                self.counts.dropped += 1
            elif kind == 1:
                self.counts.corrupted += 1
                out.append(byte ^ (1 << self.rng.randrange(8)))
            else:
                self.counts.duplicated += 1
                out += bytes([byte, byte])
        return bytes(out)

    def open(self) -> None:
        self.inner.open()

    def close(self) -> None:
        self.inner.close()

    def read(self, n: int, timeout: float) -> bytes:
        data = self._damage(self.inner.read(n, timeout), "rx")
        return data

    def write(self, data: bytes, timeout: float) -> None:
        damaged = self._damage(bytes(data), "tx")
        if self.reset_after is not None and self.written + len(data) >= self.reset_after:
            cut = max(0, self.reset_after - self.written)
            self.reset_after = None
            self.inner.write(damaged[:cut], timeout)
            self._do_reset(timeout)
            damaged = damaged[cut:]
        self.written += len(data)
        if damaged:
            self.inner.write(damaged, timeout)

    def _do_reset(self, timeout: float) -> None:
        self.counts.resets += 1
        if self._reset is not None:
            self._reset()
        else:
            # A clean RESET frame, after a few sync-free bytes ending any partial frame header.
            self.inner.write(encode_frame(MsgType.RESET, 0xEE), timeout)
