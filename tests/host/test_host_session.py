"""BoardSession against the real firmware application (protocol.c + main.c.j2, built with
ASan/UBSan) on a pseudo-terminal: answers, retries, resync, reset detection, model check, and
the firmware's handling of bad frames."""

from __future__ import annotations

import time

import numpy as np
import pytest
from host_testlib import FAKE_HASH, FirmwareProcess, build_firmware, fake_network, have_gcc

from host import protocol as P
from host.errors import ModelMismatchError, SessionError
from host.faults import FaultyTransport
from host.session import BoardSession
from host.transport import open_transport

pytestmark = pytest.mark.skipif(not have_gcc(), reason="gcc not installed")


@pytest.fixture(scope="module")
def firmware(tmp_path_factory):
    return build_firmware(tmp_path_factory.mktemp("fw"))


@pytest.fixture
def board(firmware):
    fw = FirmwareProcess(firmware)
    yield fw
    rc, err = fw.stop()
    assert rc == 0, err
    assert "runtime error" not in err and "Sanitizer" not in err, err


def crops(n: int, seed: int = 0) -> list[bytes]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, 32 * 16 * 3, dtype=np.uint8).tobytes() for _ in range(n)]


def test_hello_reports_the_firmware(board):
    with open_transport(board.path) as link:
        info = BoardSession(link, expected_hash=FAKE_HASH).connect()
    assert info.board == "test-pty" and info.firmware_version == "reidtool 0.1.0"
    assert info.model_hash == FAKE_HASH
    assert (info.input_shape, info.input_size, info.input_type) == ((32, 16, 3), 1536, "uint8")
    assert (info.output_size, info.output_type, info.output_scale) == (64, "int8", 0.0078125)
    assert info.rx_window == 4096 and info.max_payload == P.MAX_PAYLOAD and info.num_layers == 3


def test_infer_and_profile_give_the_network_output(board):
    with open_transport(board.path) as link:
        session = BoardSession(link, expected_hash=FAKE_HASH, chunk=512)
        for crop in crops(4):
            out, delta = session.infer(crop)
            assert out == fake_network(np.frombuffer(crop, np.uint8))
            assert delta > 0
        counts = session.profile(crops(1, seed=9)[0])
    assert len(counts) == 3 and counts[0] > 0
    assert session.stats.retries == 0 and session.stats.go_backs == 0


def test_faults_and_a_reset_give_exactly_the_fault_free_results(board):
    data = crops(25, seed=1)
    with open_transport(board.path) as link:
        clean = [BoardSession(link, expected_hash=FAKE_HASH).infer(c)[0] for c in data[:1]]
        faulty = FaultyTransport(link, rate=1e-3, seed=7, reset_after=20_000)
        session = BoardSession(
            faulty, expected_hash=FAKE_HASH, timeout=0.2, infer_timeout=0.5, chunk=256
        )
        results = [out for out, _ in session.infer_many(data[:15])]
        results += [session.infer(c)[0] for c in data[15:]]
    assert results[0] == clean[0]
    assert results == [fake_network(np.frombuffer(c, np.uint8)) for c in data]
    # The run really was damaged and really was reset.
    assert faulty.counts.total >= 20 and faulty.counts.resets == 1
    assert session.stats.resets >= 1 and session.stats.go_backs + session.stats.incomplete > 0


def test_pipelined_infer_many_gives_the_same_answers(board):
    data = crops(12, seed=4)
    with open_transport(board.path) as link:
        session = BoardSession(link, expected_hash=FAKE_HASH, chunk=512)
        piped = [out for out, _ in session.infer_many(data)]
        assert piped == [session.infer(c)[0] for c in data]
        assert piped == [fake_network(np.frombuffer(c, np.uint8)) for c in data]
        assert session.stats.incomplete == 0 and session.stats.timeouts == 0
        assert list(session.infer_many([])) == []


def test_model_mismatch_is_refused_unless_allowed(board):
    other = bytes(32)
    with open_transport(board.path) as link:
        with pytest.raises(ModelMismatchError, match=FAKE_HASH.hex()):
            BoardSession(link, expected_hash=other).connect()
        info = BoardSession(link, expected_hash=other, allow_mismatch=True).connect()
        assert info.model_hash == FAKE_HASH


def test_wrong_input_size_is_a_session_error(board):
    with open_transport(board.path) as link:
        with pytest.raises(SessionError, match="expected 1536 bytes"):
            BoardSession(link).infer(b"\x00" * 100)


def exchange(link, frames: bytes, wait: float = 0.3) -> list:
    link.write(frames, timeout=1.0)
    pk, events, end = P.Packetizer(), [], time.monotonic() + wait
    while time.monotonic() < end:
        try:
            events += pk.feed(link.read(4096, 0.05))
        except Exception:  # noqa: BLE001 - a quiet link is expected here
            pass
    return events


def test_bad_frames_get_protocol_errors_and_never_a_crash(board):
    """Wrong length, bad CRC, oversized, truncated, garbage: error replies, then service."""
    with open_transport(board.path) as link:
        BoardSession(link).connect()
        good = P.encode_frame(P.MsgType.HELLO, 0x10)
        bad_crc = bytearray(P.encode_frame(P.MsgType.DATA, 0x11, P.encode_data(0, b"abc")))
        bad_crc[-2] ^= 0x55
        head = bytearray(P.SYNC + bytes([P.MsgType.DATA, 0x12, 0]) + (60000).to_bytes(2, "little"))
        oversized = bytes(head + bytes([P.header_check(head)])) + bytes(range(256)) * 3
        wrong_len = P.encode_frame(P.MsgType.INFER, 0x13, b"\x01\x02\x03")
        first = P.encode_frame(P.MsgType.DATA, 0x18, P.encode_data(0, bytes(1000)))
        past_end = first + P.encode_frame(P.MsgType.DATA, 0x14, P.encode_data(1000, bytes(1000)))
        unknown = P.encode_frame(0x33, 0x15)
        truncated = P.encode_frame(P.MsgType.DATA, 0x16, P.encode_data(0, bytes(300)))[:150]
        incomplete = P.encode_frame(P.MsgType.INFER, 0x17, P.encode_infer(bytes(1536)))
        garbage = bytes(np.random.default_rng(3).integers(0, 256, 3000, dtype=np.uint8))
        stream = (
            bytes(bad_crc)
            + oversized
            + wrong_len
            + past_end
            + unknown
            + incomplete
            + garbage
            + truncated
        )
        # A truncated frame is completed by the bytes after it, fails its CRC and is rescanned:
        # the HELLOs inside its span are still answered.
        events = exchange(link, stream + good * 14)
        replies = {(e.seq, e.status) for e in events if isinstance(e, P.Frame)}
        assert (0x11, P.Status.BAD_CRC) in replies
        assert (0x12, P.Status.BAD_LENGTH) in replies
        assert (0x13, P.Status.BAD_LENGTH) in replies
        assert (0x14, P.Status.BAD_LENGTH) in replies
        assert (0x15, P.Status.UNKNOWN_TYPE) in replies
        assert (0x17, P.Status.INCOMPLETE) in replies
        assert (0x10, P.Status.OK) in replies and (0x18, P.Status.OK) in replies
        assert board.alive()
        out, _ = BoardSession(link, expected_hash=FAKE_HASH).infer(crops(1)[0])
        assert out == fake_network(np.frombuffer(crops(1)[0], np.uint8))


def test_firmware_without_profiling_answers_unsupported(tmp_path):
    exe = build_firmware(tmp_path / "noprof", profiling=False)
    with FirmwareProcess(exe) as fw, open_transport(fw.path) as link:
        session = BoardSession(link, timeout=0.3)
        with pytest.raises(SessionError, match="UNSUPPORTED"):
            session.profile(crops(1)[0])


def test_reset_reboots_the_protocol_state_and_the_session_carries_on(board):
    data = crops(2, seed=8)
    with open_transport(board.path) as link:
        session = BoardSession(link, expected_hash=FAKE_HASH)
        first = session.infer(data[0])[0]
        info = session.reset()
        assert info.model_hash == FAKE_HASH and session.stats.resets >= 1
        assert session.infer(data[0])[0] == first
        assert session.infer(data[1])[0] == fake_network(np.frombuffer(data[1], np.uint8))


def test_firmware_survives_random_mutated_frames(board):
    """200 frames of every type with random lengths, bit flips, cuts and junk: no crash, no hang."""
    import random

    rng = random.Random(99)
    blob = bytearray()
    for _ in range(200):
        t = rng.choice([1, 2, 3, 4, 0x33, 0x81, 0x40])
        payload = bytes(rng.randrange(256) for _ in range(rng.choice([0, 2, 4, 8, 32, 100, 1032])))
        frame = bytearray(P.encode_frame(t, rng.randrange(256), payload))
        for _ in range(rng.randrange(3)):
            frame[rng.randrange(len(frame))] ^= 1 << rng.randrange(8)
        if rng.random() < 0.3:
            frame = frame[: rng.randrange(1, len(frame) + 1)]
        blob += frame + bytes(rng.randrange(256) for _ in range(rng.randrange(8)))
    with open_transport(board.path) as link:
        for i in range(0, len(blob), 4096):
            exchange(link, bytes(blob[i : i + 4096]), wait=0.02)
        assert board.alive()
        session = BoardSession(link, expected_hash=FAKE_HASH)
        c = crops(1, seed=11)[0]
        assert session.infer(c)[0] == fake_network(np.frombuffer(c, np.uint8))


def test_crops_larger_than_the_credit_window(tmp_path):
    """64x32x3 = 6144 bytes > the 4096-byte window: the host waits for credit, with faults too."""
    exe = build_firmware(tmp_path / "fw64", h=64, w=32)
    rng = np.random.default_rng(21)
    data = [rng.integers(0, 256, 64 * 32 * 3, dtype=np.uint8).tobytes() for _ in range(6)]
    want = [fake_network(np.frombuffer(c, np.uint8)) for c in data]
    with FirmwareProcess(exe) as fw, open_transport(fw.path) as link:
        session = BoardSession(link, expected_hash=FAKE_HASH)
        assert session.connect().input_size == 6144
        assert [out for out, _ in session.infer_many(data)] == want
        faulty = FaultyTransport(link, rate=1e-3, seed=5)
        noisy = BoardSession(faulty, expected_hash=FAKE_HASH, timeout=0.2, infer_timeout=0.5)
        assert [out for out, _ in noisy.infer_many(data)] == want
        assert faulty.counts.total > 0
        rc, err = fw.stop()
    assert rc == 0 and "Sanitizer" not in err and "runtime error" not in err, err
