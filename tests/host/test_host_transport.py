"""Transports by URL: loopback, TCP socket (as QEMU serves it); the two errors; logging."""

from __future__ import annotations

import io
import socket
import threading

import pytest

from host.errors import LinkClosedError, LinkTimeoutError, TransportError
from host.transport import TransportLogger, open_transport, scheme_of
from toolchain.errors import UnknownNameError


def test_scheme_selection_and_unknown_schemes():
    assert scheme_of("socket://127.0.0.1:4000") == "socket"
    assert scheme_of("/dev/pts/3") == "serial" and scheme_of("COM5") == "serial"
    with pytest.raises(
        UnknownNameError, match="Unknown transport scheme 'http'.*loop, serial, socket"
    ):
        open_transport("http://127.0.0.1:80")
    with pytest.raises(TransportError, match="expected socket://"):
        open_transport("ttyACM0")
    with pytest.raises(TransportError, match="cannot open port '/dev/nonexistent_reidtool'"):
        open_transport("/dev/nonexistent_reidtool")


def test_loop_read_write_timeout_and_closed():
    with open_transport("loop://") as link:
        link.write(b"hello world", timeout=1.0)
        got = b""
        while len(got) < 11:
            got += link.read(64, timeout=1.0)
        assert got == b"hello world"
        with pytest.raises(LinkTimeoutError, match="no byte within"):
            link.read(1, timeout=0.05)
    with pytest.raises(LinkClosedError, match="closed"):
        link.read(1, timeout=0.05)


def test_socket_transport_talks_to_a_tcp_server_and_sees_it_go():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    def echo_once():
        conn, _ = server.accept()
        conn.sendall(conn.recv(100)[::-1])
        conn.close()

    t = threading.Thread(target=echo_once, daemon=True)
    t.start()
    with open_transport(f"socket://127.0.0.1:{port}") as link:
        link.write(b"abc", timeout=1.0)
        got = b""
        while len(got) < 3:
            got += link.read(10, timeout=2.0)
        assert got == b"cba"
        t.join(2)
        with pytest.raises((LinkClosedError, LinkTimeoutError)):
            for _ in range(3):
                link.read(1, timeout=0.2)
    server.close()


def test_transport_logger_records_both_directions():
    sink = io.StringIO()
    with TransportLogger(open_transport("loop://"), sink) as link:
        link.write(b"\xa5\x5a", timeout=1.0)
        link.read(2, timeout=1.0)
    lines = sink.getvalue().splitlines()
    assert lines[0].split()[1:] == [">", "2", "a55a"]
    assert lines[1].split()[1] == "<" and lines[1].endswith("a55a")
