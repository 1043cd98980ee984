"""The reidtool serial protocol, host side: frame encoding, the CRC, and a byte-fed decoder.

`docs/protocol.md` is the definition; this module and `firmware_templates/app/protocol.c`
implement it and are both tested against its test vectors. The decoder (`Packetizer`) is an
object fed bytes that emits frames and error events; it knows no port, so the session, the
tests and the benchmark all drive it the same way.

Frame (all integers little-endian):

    A5 5A | type | seq | status | length u16 | hcheck | payload[length] | crc32 u32

`hcheck` is the low byte of CRC-32 over bytes 2..6, so a corrupted length is caught before
the decoder waits for a payload that never comes; the trailing CRC-32 covers bytes 2 up to the
end of the payload.

Example:
    frame = encode_frame(MsgType.HELLO, seq=1)
    events = Packetizer().feed(frame)     # [Frame(type=1, seq=1, status=0, payload=b"")]
"""

from __future__ import annotations

import enum
import struct
import zlib
from dataclasses import dataclass

from host.errors import ProtocolError

SYNC = b"\xa5\x5a"
HEADER_SIZE = 8
TRAILER_SIZE = 4
OVERHEAD = HEADER_SIZE + TRAILER_SIZE
PROTOCOL_VERSION = 1
# Largest payload of the host's frames and, until INFO says more, of the board's (the firmware's
# default PROTO_MAX_PAYLOAD): 1024 data bytes of a DATA chunk plus its offset, or an INFER reply
# of a 1024-byte embedding plus its counter. A firmware with a larger output tensor is built
# with PROTO_MAX_PAYLOAD = output + 8 and reports it in INFO (BoardSession then accepts it).
MAX_PAYLOAD = 1032
RESPONSE = 0x80


class MsgType(enum.IntEnum):
    """Frame types. A response has the request's type with bit 7 set."""

    HELLO = 0x01
    DATA = 0x02
    INFER = 0x03
    PROFILE = 0x04
    RESET = 0x05
    BOOT = 0x40  # unsolicited, device -> host, after power-up or RESET


class Status(enum.IntEnum):
    """The status byte of a response (requests carry 0)."""

    OK = 0
    BAD_CRC = 1
    BAD_LENGTH = 2
    UNKNOWN_TYPE = 3
    BUSY = 4
    MODEL_MISMATCH = 5
    BAD_OFFSET = 6
    INCOMPLETE = 7
    NETWORK_ERROR = 8
    UNSUPPORTED = 9


def crc32(data: bytes, crc: int = 0) -> int:
    """CRC-32 (IEEE 802.3, zlib): `crc32(b"123456789") == 0xCBF43926`."""
    return zlib.crc32(data, crc) & 0xFFFFFFFF


def header_check(header7: bytes) -> int:
    """Header check byte: low byte of CRC-32 over header bytes 2..6."""
    return crc32(bytes(header7[2:7])) & 0xFF


def encode_frame(msg_type: int, seq: int, payload: bytes = b"", status: int = 0) -> bytes:
    """One complete frame.

    Args:
        msg_type: a `MsgType` (responses: `| RESPONSE`).
        seq: sequence number 0..255 (a response carries its request's).
        payload: at most `MAX_PAYLOAD` bytes.
        status: a `Status` (0 in requests).

    Raises:
        ProtocolError: a field is out of range.
    """
    payload = bytes(payload)
    if len(payload) > MAX_PAYLOAD:
        raise ProtocolError(
            f"payload of type 0x{msg_type:02x}: expected at most {MAX_PAYLOAD} bytes, "
            f"received {len(payload)}"
        )
    for name, value in (("type", msg_type), ("seq", seq), ("status", status)):
        if not 0 <= int(value) <= 255:
            raise ProtocolError(f"frame field {name}: expected 0..255, received {value}")
    head = SYNC + struct.pack("<BBBH", int(msg_type), int(seq), int(status), len(payload))
    head += bytes([header_check(head)])
    body = head + payload
    return body + struct.pack("<I", crc32(body[2:]))


@dataclass(frozen=True)
class Frame:
    """A decoded frame whose header check and CRC both matched."""

    type: int
    seq: int
    status: int
    payload: bytes

    @property
    def is_response(self) -> bool:
        return bool(self.type & RESPONSE) and self.type != MsgType.BOOT


@dataclass(frozen=True)
class FrameError:
    """A frame with a valid header but a rejected body (`status`: BAD_CRC or BAD_LENGTH)."""

    type: int
    seq: int
    status: int
    length: int


class Packetizer:
    """Turns a byte stream into `Frame` and `FrameError` events.

    Why an object fed bytes: the same decoder serves a pyserial port, a socket, the fault
    injection transport and the tests, and it never blocks. Garbage before or between frames is
    skipped; a header whose check byte fails is skipped one byte at a time (so a real frame
    hidden behind a false sync is still found); a valid header announcing more than
    `max_payload` bytes gives `FrameError(BAD_LENGTH)`, a body whose CRC fails gives
    `FrameError(BAD_CRC)`, and scanning resumes one byte after the rejected sync. The buffer
    never holds more than one maximal frame plus the bytes fed in one call.

    Args:
        max_payload: the largest payload accepted.

    Example:
        p = Packetizer()
        for event in p.feed(port.read(256)):
            ...
    """

    def __init__(self, max_payload: int = MAX_PAYLOAD):
        self.max_payload = max_payload
        self._buf = bytearray()
        self.skipped = 0  # bytes discarded while hunting for a frame (garbage, broken frames)

    def reset(self) -> None:
        """Forget any partial frame."""
        self._buf.clear()

    @property
    def pending(self) -> int:
        """Bytes held for an incomplete frame."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Frame | FrameError]:
        """Add received bytes; return every event they complete, in order."""
        self._buf += data
        events: list[Frame | FrameError] = []
        buf = self._buf
        while True:
            start = buf.find(SYNC[:1])
            if start < 0:
                self.skipped += len(buf)
                buf.clear()
                break
            if start:
                self.skipped += start
                del buf[:start]
            if len(buf) < 2:
                break
            if buf[1] != SYNC[1]:
                self._drop(1)
                continue
            if len(buf) < HEADER_SIZE:
                break
            if header_check(buf) != buf[7]:
                self._drop(1)
                continue
            msg_type, seq, status, length = struct.unpack_from("<BBBH", buf, 2)
            if length > self.max_payload:
                events.append(FrameError(msg_type, seq, Status.BAD_LENGTH, length))
                self._drop(1)
                continue
            total = HEADER_SIZE + length + TRAILER_SIZE
            if len(buf) < total:
                break
            (crc,) = struct.unpack_from("<I", buf, HEADER_SIZE + length)
            if crc != crc32(bytes(buf[2 : HEADER_SIZE + length])):
                events.append(FrameError(msg_type, seq, Status.BAD_CRC, length))
                self._drop(1)
                continue
            events.append(
                Frame(msg_type, seq, status, bytes(buf[HEADER_SIZE : HEADER_SIZE + length]))
            )
            del buf[:total]
        return events

    def _drop(self, n: int) -> None:
        self.skipped += n
        del self._buf[:n]


# ---- payloads -------------------------------------------------------------------------------

DTYPE_CODES = {0: "int8", 1: "uint8", 2: "float32"}

_INFO = struct.Struct("<HHI16s24s32sBBHHHHHIfiIfiIII16s")
INFO_SIZE = _INFO.size


@dataclass(frozen=True)
class BoardInfo:
    """The INFO reply to HELLO: what the firmware runs and how to talk to it."""

    protocol_version: int
    max_payload: int
    rx_window: int
    firmware_version: str
    board: str
    model_hash: bytes
    input_type: str
    output_type: str
    input_shape: tuple[int, int, int]
    input_size: int
    input_scale: float
    input_zero_point: int
    output_size: int
    output_scale: float
    output_zero_point: int
    arena_size: int
    weights_size: int
    num_layers: int
    counter_unit: str

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["model_hash"] = self.model_hash.hex()
        d["input_shape"] = list(self.input_shape)
        return d


def _cstr(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("ascii", "replace")


def _dtype_code(name: str) -> int:
    for code, dtype in DTYPE_CODES.items():
        if dtype == name:
            return code
    raise ProtocolError(
        f"tensor type: expected one of {sorted(DTYPE_CODES.values())}, received {name!r}"
    )


def encode_info(info: BoardInfo) -> bytes:
    """The INFO payload for `info` (used by the test vectors and simulators)."""
    h, w, c = info.input_shape
    return _INFO.pack(
        info.protocol_version,
        info.max_payload,
        info.rx_window,
        info.firmware_version.encode()[:16],
        info.board.encode()[:24],
        bytes(info.model_hash),
        _dtype_code(info.input_type),
        _dtype_code(info.output_type),
        h,
        w,
        c,
        0,
        0,
        info.input_size,
        info.input_scale,
        info.input_zero_point,
        info.output_size,
        info.output_scale,
        info.output_zero_point,
        info.arena_size,
        info.weights_size,
        info.num_layers,
        info.counter_unit.encode()[:16],
    )


def decode_info(payload: bytes) -> BoardInfo:
    """Parse an INFO payload.

    Raises:
        ProtocolError: wrong size or an unknown tensor type code.
    """
    if len(payload) != INFO_SIZE:
        raise ProtocolError(f"INFO payload: expected {INFO_SIZE} bytes, received {len(payload)}")
    (
        ver,
        max_payload,
        window,
        fw,
        board,
        mhash,
        itype,
        otype,
        h,
        w,
        c,
        _r0,
        _r1,
        isize,
        iscale,
        izp,
        osize,
        oscale,
        ozp,
        arena,
        weights,
        nlayers,
        unit,
    ) = _INFO.unpack(payload)
    for name, code in (("input_type", itype), ("output_type", otype)):
        if code not in DTYPE_CODES:
            raise ProtocolError(
                f"INFO {name}: expected a code in {sorted(DTYPE_CODES)}, received {code}"
            )
    return BoardInfo(
        ver,
        max_payload,
        window,
        _cstr(fw),
        _cstr(board),
        bytes(mhash),
        DTYPE_CODES[itype],
        DTYPE_CODES[otype],
        (h, w, c),
        isize,
        iscale,
        izp,
        osize,
        oscale,
        ozp,
        arena,
        weights,
        nlayers,
        _cstr(unit),
    )


def encode_data(offset: int, chunk: bytes) -> bytes:
    """DATA request payload: u32 offset then the chunk."""
    return struct.pack("<I", offset) + bytes(chunk)


def encode_infer(input_bytes: bytes) -> bytes:
    """INFER request payload: u32 input size, u32 CRC-32 of the whole input."""
    return struct.pack("<II", len(input_bytes), crc32(input_bytes))


def decode_infer_reply(payload: bytes, output_size: int) -> tuple[bytes, int]:
    """INFER reply payload → (output bytes, counter delta)."""
    if len(payload) != 8 + output_size:
        raise ProtocolError(
            f"INFER reply: expected {8 + output_size} bytes (u64 counter + output), "
            f"received {len(payload)}"
        )
    (delta,) = struct.unpack_from("<Q", payload)
    return bytes(payload[8:]), delta


def decode_next_offset(payload: bytes) -> int:
    """DATA reply payload: the offset the device expects next."""
    if len(payload) != 4:
        raise ProtocolError(
            f"DATA reply: expected 4 bytes (u32 next offset), received {len(payload)}"
        )
    return struct.unpack("<I", payload)[0]


def decode_profile_reply(payload: bytes) -> tuple[int, int, list[int]]:
    """PROFILE reply payload → (number of layers, first layer, counts of this page)."""
    if len(payload) < 8:
        raise ProtocolError(f"PROFILE reply: expected at least 8 bytes, received {len(payload)}")
    total, first, count, _ = struct.unpack_from("<HHHH", payload)
    if len(payload) != 8 + 8 * count:
        raise ProtocolError(
            f"PROFILE reply: {count} counts need {8 + 8 * count} bytes, received {len(payload)}"
        )
    counts = list(struct.unpack_from(f"<{count}Q", payload, 8))
    return total, first, counts
