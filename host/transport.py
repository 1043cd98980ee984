"""Byte transports to a board, opened by URL through pyserial.

Why one small interface: the session, the fault-injection wrapper, the traffic logger and the
benchmark all speak `open / close / read(n, timeout) / write(data, timeout)`, and every
transport raises exactly two kinds of error, `LinkClosedError` and `LinkTimeoutError`. The
URL's scheme picks the transport from the `TRANSPORTS` registry; an unknown scheme is
rejected with the list of valid ones.

URLs:
    socket://127.0.0.1:PORT      a TCP serial port (QEMU's `-serial tcp:...`)
    /dev/pts/N, /dev/ttyACM0     a pseudo-terminal (the `host` board) or a real port
    COM5                         a Windows port
    loop://                      pyserial's loopback (what is written is read back)

Example:
    with open_transport("socket://127.0.0.1:4321", baud=921600) as link:
        link.write(frame, timeout=1.0)
        data = link.read(256, timeout=0.5)
"""

from __future__ import annotations

import logging
import re
import time

from host.errors import LinkClosedError, LinkTimeoutError, TransportError
from toolchain.registry import Registry

TRANSPORTS: Registry[type] = Registry("transport scheme")
DEFAULT_BAUD = 921600
log = logging.getLogger(__name__)


class Transport:
    """The interface every transport implements; a context manager that opens and closes it."""

    url: str = ""

    def open(self) -> None:
        raise TransportError(f"{type(self).__name__} cannot be opened")

    def close(self) -> None:
        """Release the port; closing twice is harmless."""

    def read(self, n: int, timeout: float) -> bytes:
        """Return 1..n bytes, waiting at most `timeout` s for the first one.

        Raises:
            LinkTimeoutError: nothing arrived in time.
            LinkClosedError: the transport is closed or the other end went away.
        """
        raise LinkClosedError(f"{self.url}: not readable")

    def write(self, data: bytes, timeout: float) -> None:
        """Send all of `data` within `timeout` s (LinkTimeoutError / LinkClosedError otherwise)."""
        raise LinkClosedError(f"{self.url}: not writable")

    def __enter__(self) -> Transport:
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class SerialTransport(Transport):
    """A pyserial port: real serial ports, pseudo-terminals, `socket://` and `loop://` URLs.

    Args:
        url: what `serial.serial_for_url` accepts.
        baud: line rate (ignored by sockets and ptys, used by real UARTs).
    """

    def __init__(self, url: str, baud: int = DEFAULT_BAUD):
        self.url = url
        self.baud = int(baud)
        self._port = None

    def open(self) -> None:
        import serial

        if self._port is not None:
            return
        try:
            self._port = serial.serial_for_url(
                self.url, baudrate=self.baud, timeout=0, write_timeout=1.0
            )
        except (serial.SerialException, ValueError, OSError) as err:
            raise TransportError(
                f"cannot open port {self.url!r} at {self.baud} baud: {err}"
            ) from err

    def close(self) -> None:
        if self._port is not None:
            try:
                self._port.close()
            finally:
                self._port = None

    def _require(self):
        if self._port is None:
            raise LinkClosedError(f"{self.url}: the transport is closed")
        return self._port

    def read(self, n: int, timeout: float) -> bytes:
        import serial

        port = self._require()
        try:
            port.timeout = max(0.0, timeout)
            first = port.read(1)
            if not first:
                raise LinkTimeoutError(f"{self.url}: no byte within {timeout:.3f} s")
            try:
                waiting = port.in_waiting
                if waiting and n > 1:
                    port.timeout = 0
                    first += port.read(min(waiting, n - 1))
            except (serial.SerialException, OSError):
                pass  # the other end left after sending: deliver what came, fail on the next read
            return first
        except serial.SerialException as err:
            raise LinkClosedError(f"{self.url}: {err}") from err
        except OSError as err:
            raise LinkClosedError(f"{self.url}: {err}") from err

    def write(self, data: bytes, timeout: float) -> None:
        import serial

        port = self._require()
        try:
            port.write_timeout = max(0.001, timeout)
            port.write(bytes(data))
        except serial.SerialTimeoutException as err:
            raise LinkTimeoutError(
                f"{self.url}: could not write {len(data)} bytes within {timeout:.3f} s"
            ) from err
        except (serial.SerialException, OSError) as err:
            raise LinkClosedError(f"{self.url}: {err}") from err


# Schemes handled by pyserial. A bare path or COM name is a serial port.
for _scheme in ("socket", "loop", "serial"):
    TRANSPORTS.add(_scheme, SerialTransport)


def scheme_of(url: str) -> str:
    """The URL's scheme: `socket`, `loop`... ; `serial` for a device path or a COM name."""
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", url)
    if match:
        return match.group(1).lower()
    if url.startswith("/") or re.match(r"^COM\d+$", url, re.IGNORECASE):
        return "serial"
    raise TransportError(
        f"port {url!r}: expected socket://HOST:PORT, a device path (/dev/ttyACM0, "
        "/dev/pts/3) or COMn"
    )


def open_transport(url: str, baud: int = DEFAULT_BAUD, log_file=None) -> Transport:
    """Open the transport for `url` (scheme from `TRANSPORTS`), optionally logged."""
    cls = TRANSPORTS.get(scheme_of(url))
    transport = cls(url, baud)
    transport.open()
    if log_file is not None:
        transport = TransportLogger(transport, log_file)
    return transport


class TransportLogger(Transport):
    """Wraps a transport and records every read and write (time, direction, hex) for debugging.

    Args:
        inner: the wrapped transport (already open or opened by `open`).
        sink: a path or a writable text stream; None logs through `logging` at DEBUG level.
    """

    def __init__(self, inner: Transport, sink=None):
        self.inner = inner
        self.url = inner.url
        self._own = isinstance(sink, (str, bytes)) or hasattr(sink, "__fspath__")
        self._sink = open(sink, "a") if self._own else sink  # noqa: SIM115
        self._t0 = time.monotonic()

    def _log(self, direction: str, data: bytes) -> None:
        line = f"{time.monotonic() - self._t0:10.6f} {direction} {len(data):5d} {bytes(data).hex()}"
        if self._sink is None:
            log.debug("%s %s", self.url, line)
        else:
            self._sink.write(line + "\n")
            self._sink.flush()

    def open(self) -> None:
        self.inner.open()

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            if self._own and self._sink is not None:
                self._sink.close()
                self._sink = None

    def read(self, n: int, timeout: float) -> bytes:
        data = self.inner.read(n, timeout)
        self._log("<", data)
        return data

    def write(self, data: bytes, timeout: float) -> None:
        self._log(">", data)
        self.inner.write(data, timeout)
