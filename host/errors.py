"""The host harness's exception family.

Everything the serial link, the protocol or a board session can go wrong with derives from
`HostError` (itself a `ReidtoolError`, so the CLI prints one line and exits 1). Transports
raise exactly two kinds: `LinkClosedError` (the port is gone) and `LinkTimeoutError` (nothing
arrived in time); the session turns repeated timeouts into `SessionError`.
"""

from __future__ import annotations

from toolchain.errors import BoardError


class HostError(BoardError):
    """Base of every error raised by the `host` package (exit code 1)."""


class TransportError(HostError):
    """A transport cannot be opened or used (bad URL, unknown scheme, port missing)."""


class LinkClosedError(TransportError):
    """The transport is closed, or the other end went away, while reading or writing."""


class LinkTimeoutError(TransportError):
    """A read or write did not complete within its timeout."""


class ProtocolError(HostError):
    """A frame is malformed (sync, header check, length, CRC) or a reply is unexpected."""


class SessionError(HostError):
    """No correct answer to a request after every retry, or an error status."""


class ModelMismatchError(SessionError):
    """The board runs a different model than the one being evaluated (model hash differs)."""


class DeviceLogError(HostError):
    """`device_embeddings.log` belongs to another model, or is not a log."""
