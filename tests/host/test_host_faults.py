"""FaultyTransport: seeded, rate-true byte faults in both directions and one board reset."""

from __future__ import annotations

from host import protocol as P
from host.faults import FaultyTransport
from host.transport import Transport


class Recorder(Transport):
    """A sink that keeps what was written and hands back what it was given to read."""

    url = "recorder"

    def __init__(self, incoming: bytes = b""):
        self.written = bytearray()
        self.incoming = bytearray(incoming)

    def open(self):
        pass

    def write(self, data, timeout):
        self.written += data

    def read(self, n, timeout):
        out = bytes(self.incoming[:n])
        del self.incoming[:n]
        return out


def test_fault_rate_and_kinds_follow_the_seed():
    payload = bytes(range(256)) * 400  # 102400 bytes
    inner = Recorder()
    faulty = FaultyTransport(inner, rate=1e-3, seed=42, directions="tx")
    faulty.write(payload, timeout=1)
    c = faulty.counts
    assert 60 <= c.total <= 150  # ~102 expected
    assert c.dropped and c.corrupted and c.duplicated
    assert len(inner.written) == len(payload) - c.dropped + c.duplicated
    again = FaultyTransport(Recorder(), rate=1e-3, seed=42, directions="tx")
    again.write(payload, timeout=1)
    assert again.inner.written == inner.written


def test_rx_faults_and_no_faults_at_rate_zero():
    data = bytes(range(256)) * 100
    clean = FaultyTransport(Recorder(data), rate=0.0)
    assert clean.read(len(data), 1) == data
    noisy = FaultyTransport(Recorder(data), rate=0.01, seed=1)
    assert noisy.read(len(data), 1) != data and noisy.counts.by_direction["rx"] > 0


def test_reset_is_a_reset_frame_at_the_given_byte():
    inner = Recorder()
    faulty = FaultyTransport(inner, rate=0.0, reset_after=100)
    faulty.write(bytes(80), timeout=1)
    faulty.write(bytes(80), timeout=1)
    reset = P.encode_frame(P.MsgType.RESET, 0xEE)
    assert bytes(inner.written[100 : 100 + len(reset)]) == reset
    assert len(inner.written) == 160 + len(reset) and faulty.counts.resets == 1
    events = P.Packetizer().feed(bytes(inner.written))
    assert [(e.type, e.seq) for e in events] == [(P.MsgType.RESET, 0xEE)]
