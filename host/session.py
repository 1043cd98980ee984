"""One conversation with a board running the reidtool firmware: hello, infer, profile, reset.

Why a session object: the link is unreliable (a UART without flow control, a USB bridge, a
board that reboots) and every caller wants the same guarantees: a request is retried after a
timeout or a damaged reply, garbage is skipped, a board reset is noticed (BOOT frame, or the
board forgetting the crop it was receiving) and answered by a fresh HELLO and a resend, and a
board running another model is refused. Crops travel as DATA chunks under a credit window the
board announces (its receive ring's size), go-back-N on any loss, so the link runs near its
line rate; the board checks the whole crop's CRC-32 before it runs the network.

Example:
    with open_transport(url) as link:
        session = BoardSession(link, expected_hash=sha256_of_tflite)
        info = session.connect()
        embedding, count = session.infer(crop_bytes)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from host import protocol as P
from host.errors import (
    LinkTimeoutError,
    ModelMismatchError,
    ProtocolError,
    SessionError,
)
from host.protocol import BoardInfo, Frame, FrameError, MsgType, Status
from host.transport import Transport

log = logging.getLogger(__name__)


class _BoardReset(Exception):
    """Internal: the board announced a reboot; the running operation starts over."""


@dataclass
class SessionStats:
    """What the session had to do to get its answers."""

    requests: int = 0
    retries: int = 0
    timeouts: int = 0
    resets: int = 0
    go_backs: int = 0
    incomplete: int = 0  # INFER answered INCOMPLETE: the crop was resumed from the board's offset
    bytes_sent: int = 0
    payload_bytes: int = 0


class BoardSession:
    """Request/response with retries over a `Transport`.

    Args:
        transport: an open transport.
        expected_hash: the 32-byte SHA-256 of the model being evaluated; the board must run it.
        allow_mismatch: log instead of raising when the hashes differ.
        timeout: seconds without any progress before a request or chunk is resent.
        infer_timeout: seconds to wait for an INFER or PROFILE reply (the network runs).
        retries: resends of one request before giving up with `SessionError`.
        chunk: largest DATA chunk (bytes of input per frame); capped by the board's limits.
    """

    def __init__(
        self,
        transport: Transport,
        expected_hash: bytes | None = None,
        allow_mismatch: bool = False,
        timeout: float = 1.0,
        infer_timeout: float = 30.0,
        retries: int = 8,
        chunk: int = 1024,
    ):
        self.transport = transport
        self.expected_hash = bytes(expected_hash) if expected_hash is not None else None
        if self.expected_hash is not None and len(self.expected_hash) != 32:
            raise SessionError(
                f"expected_hash: expected 32 bytes (SHA-256), received {len(self.expected_hash)}"
            )
        self.allow_mismatch = allow_mismatch
        self.timeout = timeout
        self.infer_timeout = infer_timeout
        self.retries = retries
        self.chunk = chunk
        self.packetizer = P.Packetizer()
        self.info: BoardInfo | None = None
        self.stats = SessionStats()
        self._seq = 0
        self._events: list[Frame | FrameError] = []
        self._stash: dict[int, Frame | FrameError] = {}  # INFER replies seen while sending

    # ---- low level ----------------------------------------------------------------------
    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0xFF
        return self._seq

    def _send(self, msg_type: int, payload: bytes = b"", seq: int | None = None) -> int:
        seq = self._next_seq() if seq is None else seq
        frame = P.encode_frame(msg_type, seq, payload)
        self.transport.write(frame, timeout=max(1.0, self.timeout))
        self.stats.bytes_sent += len(frame)
        return seq

    def _poll(self, timeout: float) -> list[Frame | FrameError]:
        """Events already decoded, or those arriving within `timeout` s (maybe none)."""
        if not self._events:
            try:
                data = self.transport.read(4096, timeout)
            except LinkTimeoutError:
                return []
            self._events.extend(self.packetizer.feed(data))
        events, self._events = self._events, []
        for ev in events:
            if isinstance(ev, Frame) and ev.type == MsgType.BOOT:
                log.info("%s: board reset detected (BOOT)", self.transport.url)
                self.stats.resets += 1
                raise _BoardReset()
        return events

    def _drain(self, quiet: float = 0.05) -> None:
        """Discard whatever is in flight (stale replies) until the link is quiet."""
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            try:
                data = self.transport.read(4096, quiet)
            except LinkTimeoutError:
                break
            self.packetizer.feed(data)
        self.packetizer.reset()
        self._events = []

    def _request(self, msg_type: int, payload: bytes, wait: float) -> Frame:
        """Send one request until a reply with its sequence number and a final status arrives."""
        want = msg_type | P.RESPONSE
        for attempt in range(self.retries + 1):
            self.stats.requests += 1
            if attempt:
                self.stats.retries += 1
            seq = self._send(msg_type, payload)
            deadline = time.monotonic() + wait
            resend = False
            while not resend and time.monotonic() < deadline:
                for ev in self._poll(min(0.05, max(0.0, deadline - time.monotonic()))):
                    if ev.seq != seq or ev.type != want:
                        continue
                    if isinstance(ev, FrameError) or ev.status in (Status.BAD_CRC, Status.BUSY):
                        resend = True  # the reply or our request was damaged: ask again
                        if ev.status == Status.BUSY:
                            time.sleep(0.01)
                        break
                    return ev
            if not resend:
                self.stats.timeouts += 1
        raise SessionError(
            f"{self.transport.url}: no valid reply to {MsgType(msg_type).name} after "
            f"{self.retries + 1} attempts"
        )

    # ---- requests ----------------------------------------------------------------------
    def connect(self) -> BoardInfo:
        """HELLO until the board answers; checks the model hash. Returns the board's INFO."""
        for _ in range(self.retries + 1):
            try:
                return self._hello()
            except _BoardReset:
                continue
        raise SessionError(f"{self.transport.url}: the board kept resetting during HELLO")

    def _hello(self) -> BoardInfo:
        self._drain()
        reply = self._request(MsgType.HELLO, self.expected_hash or b"", self.timeout)
        if reply.status not in (Status.OK, Status.MODEL_MISMATCH):
            raise SessionError(
                f"{self.transport.url}: HELLO answered with status {_status(reply.status)}"
            )
        info = P.decode_info(reply.payload)
        if info.protocol_version != P.PROTOCOL_VERSION:
            raise SessionError(
                f"{self.transport.url}: protocol version expected {P.PROTOCOL_VERSION}, "
                f"board speaks {info.protocol_version}"
            )
        if info.output_size + 8 > info.max_payload:
            raise SessionError(
                f"{self.transport.url}: the board's output tensor ({info.output_size} bytes) does "
                f"not fit its largest reply ({info.max_payload} bytes): rebuild the firmware"
            )
        # a project with an output above 1024 bytes replies with larger frames (INFO says how large)
        self.packetizer.max_payload = max(P.MAX_PAYLOAD, info.max_payload)
        if reply.status == Status.MODEL_MISMATCH or (
            self.expected_hash is not None and info.model_hash != self.expected_hash
        ):
            msg = (
                f"{self.transport.url}: the board runs model {info.model_hash.hex()}, "
                f"expected {self.expected_hash.hex() if self.expected_hash else '?'}: flash "
                "the firmware built from this model"
            )
            if not self.allow_mismatch:
                raise ModelMismatchError(msg)
            log.warning("%s", msg)
        self.info = info
        return info

    def _ensure(self) -> BoardInfo:
        return self.info if self.info is not None else self.connect()

    def _after_reset(self) -> None:
        self.info = None
        self.connect()

    def infer(self, input_bytes: bytes) -> tuple[bytes, int]:
        """Run one input tensor on the board. Returns (output tensor bytes, counter delta).

        Raises:
            SessionError: wrong input size, or no answer after every retry.
        """
        info = self._ensure()
        data = bytes(input_bytes)
        if len(data) != info.input_size:
            raise SessionError(
                f"input for {info.board}: expected {info.input_size} bytes "
                f"{info.input_shape} {info.input_type}, received {len(data)}"
            )
        start = 0
        failures = 0
        # Each attempt resumes where the board stands; only attempts without progress count.
        while failures <= self.retries:
            try:
                # After an attempt without progress, wait for every acknowledgement (slower, surer).
                self._transfer(data, start, wait_acks=failures > 0)
                reply = self._request(MsgType.INFER, P.encode_infer(data), self.infer_timeout)
            except _BoardReset:
                self._after_reset()
                start = 0
                failures += 1
                continue
            if reply.status == Status.INCOMPLETE:
                have = P.decode_next_offset(reply.payload) if len(reply.payload) == 4 else 0
                failures = 0 if start < have < len(data) else failures + 1
                start = have if have < len(data) else 0  # all there but CRC differs: resend all
                self.stats.incomplete += 1
                log.info(
                    "%s: board holds %d of %d bytes; resending from %d",
                    self.transport.url,
                    have,
                    len(data),
                    start,
                )
                continue
            if reply.status != Status.OK:
                raise SessionError(
                    f"{self.transport.url}: INFER answered with status {_status(reply.status)}"
                )
            self.stats.payload_bytes += len(data)
            return P.decode_infer_reply(reply.payload, info.output_size)
        raise SessionError(
            f"{self.transport.url}: INFER did not complete after {self.retries + 1} attempts"
        )

    def infer_many(self, inputs: Iterable[bytes]) -> Iterator[tuple[bytes, int]]:
        """`infer` for a stream of inputs, pipelined: crop k+1 is sent while the board runs crop k.

        Why: the round trip, the network's run time and the reply then overlap the next crop's
        transfer, so the link stays busy (the board processes frames in order, and INFER checks
        the CRC of the whole crop, so an overlap can never run the wrong bytes). Any failure of
        a pipelined crop falls back to the plain, sequential `infer` for it and resends the next.

        Yields:
            (output tensor bytes, counter delta) per input, in order.
        """
        info = self._ensure()
        it = iter(inputs)
        cur = next(it, None)
        sent = False  # cur's bytes are already on their way (pipelined behind the previous crop)
        while cur is not None:
            self._check_input(cur)
            nxt = next(it, None)
            reply = None
            pipelined = False
            try:
                if not sent:
                    self._transfer(cur, 0)
                seq = self._send(MsgType.INFER, P.encode_infer(cur))
                self.stats.requests += 1
                if nxt is not None:
                    self._check_input(nxt)
                    self._transfer(nxt, 0, patience=self.infer_timeout + self.timeout)
                    pipelined = True
                reply = self._await(seq, MsgType.INFER | P.RESPONSE, self.infer_timeout)
            except _BoardReset:
                self._after_reset()
                reply = None
            if isinstance(reply, Frame) and reply.status == Status.OK:
                self.stats.payload_bytes += len(cur)
                result = P.decode_infer_reply(reply.payload, info.output_size)
            elif isinstance(reply, Frame) and reply.status not in (
                Status.INCOMPLETE,
                Status.BAD_CRC,
                Status.BUSY,
            ):
                raise SessionError(
                    f"{self.transport.url}: INFER answered with status {_status(reply.status)}"
                )
            else:
                result = self.infer(cur)  # sequential and resumable; the next crop is resent
                pipelined = False
            yield result
            cur, sent = nxt, pipelined

    def _check_input(self, data: bytes) -> None:
        info = self.info or self._ensure()
        if len(data) != info.input_size:
            raise SessionError(
                f"input for {info.board}: expected {info.input_size} bytes "
                f"{info.input_shape} {info.input_type}, received {len(data)}"
            )

    def _await(self, seq: int, want: int, wait: float) -> Frame | FrameError | None:
        """The reply (`want`, `seq`) from the stash or the link within `wait` s; None if none."""
        deadline = time.monotonic() + wait
        while True:
            ev = self._stash.pop(seq, None)
            if ev is not None and ev.type == want:
                self._stash.clear()
                return ev
            if time.monotonic() >= deadline:
                self.stats.timeouts += 1
                return None
            for ev in self._poll(min(0.05, max(0.0, deadline - time.monotonic()))):
                if ev.type == want:
                    self._stash[ev.seq] = ev

    def _transfer(
        self, data: bytes, start: int = 0, wait_acks: bool = False, patience: float | None = None
    ) -> None:
        """Send the input from `start` as DATA chunks, go-back-N under the board's credit window.

        Returns once every chunk is sent (`wait_acks`: once every chunk is acknowledged). Not
        waiting saves a round trip per crop: the request that follows (INFER, PROFILE) is
        processed after the chunks, and answers INCOMPLETE with the board's offset if one was lost.
        `patience`: seconds without an acknowledgement before going back (default `timeout`;
        longer while the board may still be running the previous crop).
        """
        info = self.info
        size = len(data)
        window = max(info.rx_window - 2 * P.OVERHEAD - 8, 64)  # room for the INFER that follows
        chunk = max(1, min(self.chunk, info.max_payload - 4, window - P.OVERHEAD - 4))
        base = start  # bytes the board confirmed
        next_off = start  # next byte to send
        outstanding: dict[int, tuple[int, int, int]] = {}  # seq -> (offset, end, frame bytes)
        inflight = 0
        last_progress = time.monotonic()
        failures = 0
        while next_off < size or (wait_acks and base < size):
            while next_off < size:
                end = min(size, next_off + chunk)
                flen = end - next_off + 4 + P.OVERHEAD
                if outstanding and inflight + flen > window:
                    break
                seq = self._send(MsgType.DATA, P.encode_data(next_off, data[next_off:end]))
                outstanding[seq] = (next_off, end, flen)
                inflight += flen
                next_off = end
            if next_off >= size and not wait_acks:
                break
            go_back = None
            for ev in self._poll(0.05):
                if ev.type == (MsgType.INFER | P.RESPONSE):
                    self._stash[ev.seq] = ev  # the previous crop's answer (pipelined)
                    continue
                if go_back is not None:
                    continue
                if ev.type != (MsgType.DATA | P.RESPONSE) or ev.seq not in outstanding:
                    continue
                if isinstance(ev, Frame) and ev.status == Status.OK:
                    acked = P.decode_next_offset(ev.payload)
                    base = max(base, min(acked, size))
                    for done in [s for s, (_o, e, _f) in outstanding.items() if e <= acked]:
                        del outstanding[done]
                    inflight = sum(f for (_o, _e, f) in outstanding.values())
                    last_progress = time.monotonic()
                    failures = 0
                elif (
                    isinstance(ev, Frame)
                    and ev.status == Status.BAD_OFFSET
                    and len(ev.payload) == 4
                ):
                    # The board says where it stands: that is the truth, ahead or behind.
                    go_back = min(P.decode_next_offset(ev.payload), size)
                    base = go_back
                else:  # damaged chunk or damaged reply: resend from that chunk
                    go_back = outstanding[ev.seq][0]
            if go_back is None and time.monotonic() - last_progress > (patience or self.timeout):
                self.stats.timeouts += 1
                failures += 1
                if failures > self.retries:
                    raise SessionError(
                        f"{self.transport.url}: DATA not acknowledged after "
                        f"{self.retries + 1} attempts"
                    )
                go_back = base
            if go_back is not None:
                self.stats.go_backs += 1
                next_off = min(go_back, size)
                outstanding.clear()
                inflight = 0
                last_progress = time.monotonic()

    def profile(self, input_bytes: bytes) -> list[int]:
        """Per-layer counter deltas of one inference (firmware built with profiling).

        Raises:
            SessionError: the firmware has no profiling (UNSUPPORTED), or no answer.
        """
        info = self._ensure()
        for _ in range(self.retries + 1):
            try:
                self._transfer(bytes(input_bytes), wait_acks=True)
                counts: list[int] = []
                total = None
                while total is None or len(counts) < total:
                    reply = self._request(
                        MsgType.PROFILE, len(counts).to_bytes(2, "little"), self.infer_timeout
                    )
                    if reply.status == Status.INCOMPLETE:
                        raise _BoardReset()
                    if reply.status != Status.OK:
                        raise SessionError(
                            f"{self.transport.url}: PROFILE answered with status "
                            f"{_status(reply.status)}"
                        )
                    total, first, page = P.decode_profile_reply(reply.payload)
                    if first != len(counts):
                        raise ProtocolError(
                            f"PROFILE page: expected first layer {len(counts)}, received {first}"
                        )
                    if not page and len(counts) < total:
                        raise ProtocolError("PROFILE page: empty page before the last layer")
                    counts.extend(page)
                if total != info.num_layers:
                    raise ProtocolError(
                        f"PROFILE: expected {info.num_layers} layers, received {total}"
                    )
                return counts
            except _BoardReset:
                self._after_reset()
        raise SessionError(
            f"{self.transport.url}: PROFILE did not complete after {self.retries + 1} attempts"
        )

    def reset(self) -> BoardInfo:
        """Ask the board to reset its protocol state; waits for BOOT and says HELLO again."""
        try:
            self._request(MsgType.RESET, b"", self.timeout)
            deadline = time.monotonic() + self.timeout
            while time.monotonic() < deadline:
                self._poll(0.05)
        except _BoardReset:
            pass
        self.info = None
        return self.connect()


def _status(code: int) -> str:
    try:
        return f"{Status(code).name} ({code})"
    except ValueError:
        return f"unknown ({code})"
