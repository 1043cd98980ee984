"""The host board: the real application on a pty, answers checked bit for bit."""

from __future__ import annotations

import hashlib
import os
import time

import pytest
from boards_testlib import infer_all, make_project, random_inputs, standin_network

from toolchain.boards import get_board
from toolchain.boards.build import build_project
from toolchain.boards.process import PID_FILE, read_record


@pytest.fixture
def host_board():
    board = get_board("host")
    yield board
    board.stop()


@pytest.fixture(scope="module")
def host_project(tmp_path_factory):
    project = make_project(tmp_path_factory.mktemp("host") / "fw", "host")
    build_project(project)
    return project


def _digest(project):
    return hashlib.sha256((project / "model.tflite").read_bytes()).digest()


def test_host_board_answers_bit_for_bit(host_board, host_project):
    url = host_board.start(host_project)
    assert url.startswith("/dev/pts/")
    record = read_record(host_project / PID_FILE)
    assert record.url == url and record.pid == host_board.process.pid
    inputs = random_inputs(4)
    info, outputs, counts = infer_all(url, _digest(host_project), [x.tobytes() for x in inputs])
    assert info.board == "host" and info.counter_unit == "ns"
    assert info.rx_window == 8192 and info.input_shape == (16, 8, 3)
    assert outputs == [standin_network(x) for x in inputs]
    assert all(c > 0 for c in counts)
    with host_board.open(url, timeout=0.1) as port:  # the CONTRACTS §6 transport
        assert port.is_open and port.read(16) == b""  # a quiet board sends nothing unasked
    pid = host_board.process.pid
    host_board.stop()
    assert not (host_project / PID_FILE).exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def _exchange(port, data: bytes, quiet: float = 0.3) -> list:
    """Write `data`, read until the board is quiet, decode every reply frame."""
    from host import protocol as P

    port.write(data)
    port.flush()
    packetizer, events, last = P.Packetizer(), [], time.monotonic()
    while time.monotonic() - last < quiet:
        chunk = port.read(4096)
        if chunk:
            events += packetizer.feed(chunk)
            last = time.monotonic()
    return events


def test_sanitizer_build_answers_bad_frames_with_errors(host_board, host_project):
    """Bad CRC, oversized, wrong length, unknown type: protocol errors, no sanitizer report."""
    from host import protocol as P

    url = host_board.start(host_project, sanitize=True)
    bad_crc = bytearray(P.encode_frame(P.MsgType.DATA, 0x11, P.encode_data(0, b"abc")))
    bad_crc[-2] ^= 0x55
    head = P.SYNC + bytes([P.MsgType.DATA, 0x12, 0]) + (60000).to_bytes(2, "little")
    oversized = head + bytes([P.header_check(head)]) + bytes(range(256)) * 3
    wrong_len = P.encode_frame(P.MsgType.INFER, 0x13, b"\x01\x02\x03")
    unknown = P.encode_frame(0x33, 0x15)
    hello = P.encode_frame(P.MsgType.HELLO, 0x10)
    with host_board.open(url, timeout=0.05) as port:
        events = _exchange(port, bytes(bad_crc) + oversized + wrong_len + unknown + hello * 4)
    replies = {(e.seq, e.status) for e in events if isinstance(e, P.Frame)}
    assert (0x11, P.Status.BAD_CRC) in replies
    assert (0x12, P.Status.BAD_LENGTH) in replies
    assert (0x13, P.Status.BAD_LENGTH) in replies
    assert (0x15, P.Status.UNKNOWN_TYPE) in replies
    assert (0x10, P.Status.OK) in replies
    assert host_board.process.alive()
    log = host_board.process.log_tail(20000)
    assert "Sanitizer" not in log and "runtime error" not in log


def test_sanitizer_build_survives_garbage(host_board, host_project):
    url = host_board.start(host_project, sanitize=True)
    assert (host_project / "firmware-asan").is_file()
    import serial

    with serial.serial_for_url(url, timeout=0.2) as port:
        # Garbage, a sync pair with an absurd length, a truncated header: no report, no hang.
        port.write(bytes(range(256)) + b"\xa5\x5a\xff\xff\xff\xff\xff\xff" + b"\xa5\x5a\x01")
        port.flush()
        time.sleep(0.3)
        port.read(4096)
    inputs = random_inputs(2, seed=1)
    _, outputs, _ = infer_all(url, _digest(host_project), [x.tobytes() for x in inputs])
    assert outputs == [standin_network(x) for x in inputs]
    assert host_board.process.alive()
    log = host_board.process.log_tail(20000)
    assert "Sanitizer" not in log and "runtime error" not in log
