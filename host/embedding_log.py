"""`device_embeddings.log`: the append-only record of what the board answered, for resuming.

Why a log: an on-device evaluation streams thousands of crops over a slow link; an interruption
(Ctrl-C, a kill, an unplugged board) must not cost the crops already done. Each embedding is
appended as one self-checking record and flushed as it arrives; a rerun reads the valid records
back, cuts off a torn last record, and only sends the crops that are missing.

File layout (little-endian):
    header  b"RTEL" | u16 version (1) | u16 output size | u8[32] model SHA-256 | u32 CRC-32
    record  u32 crop index | u32 CRC-32 of the crop's input bytes | u64 counter delta |
            u16 n | u8[n] output tensor | u32 CRC-32 of the record's preceding bytes

A record whose input CRC differs from the crop now at that index (the data set changed) is
ignored, so the log can never hand back an embedding of another image.

Example:
    log = EmbeddingLog.open(run.device_log_path, model_hash, output_size)
    done = log.records            # {index: LogRecord}
    log.append(7, input_crc, counter, output_bytes)
"""

from __future__ import annotations

import logging
import os
import struct
import threading
from dataclasses import dataclass
from pathlib import Path

from host.errors import DeviceLogError
from host.protocol import crc32

log = logging.getLogger(__name__)

MAGIC = b"RTEL"
VERSION = 1
_HEADER = struct.Struct("<4sHH32s")
_RECORD_HEAD = struct.Struct("<IIQH")


@dataclass(frozen=True)
class LogRecord:
    """One board answer: crop index, the crop's input CRC, counter delta, output bytes."""

    index: int
    input_crc: int
    counter: int
    output: bytes


def encode_record(index: int, input_crc: int, counter: int, output: bytes) -> bytes:
    body = _RECORD_HEAD.pack(index, input_crc, counter, len(output)) + bytes(output)
    return body + struct.pack("<I", crc32(body))


class EmbeddingLog:
    """An open `device_embeddings.log`: valid records read back, new ones appended and flushed.

    Use `EmbeddingLog.open`; `append` is thread-safe (one log serves every board of a farm).
    """

    def __init__(
        self,
        path: Path,
        model_hash: bytes,
        output_size: int,
        records: dict[int, LogRecord],
        fsync: bool = False,
    ):
        self.path = path
        self.model_hash = model_hash
        self.output_size = output_size
        self.records = records
        self.fsync = fsync
        self._lock = threading.Lock()
        self._file = open(path, "ab")  # noqa: SIM115 - closed in close()

    @classmethod
    def open(
        cls, path: str | os.PathLike, model_hash: bytes, output_size: int, fsync: bool = False
    ) -> EmbeddingLog:
        """Open (create, or resume) the log at `path` for this model.

        Raises:
            DeviceLogError: the file belongs to another model or output size, or is not a log.
        """
        path = Path(path)
        header = _HEADER.pack(MAGIC, VERSION, output_size, bytes(model_hash))
        header += struct.pack("<I", crc32(header))
        records: dict[int, LogRecord] = {}
        if not path.exists() or path.stat().st_size == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as f:
                f.write(header)
                f.flush()
                os.fsync(f.fileno())
            return cls(path, bytes(model_hash), output_size, records, fsync)
        data = path.read_bytes()
        if data[: len(header)] != header:
            if len(data) < len(header) and header.startswith(data):
                path.write_bytes(header)  # torn while writing the header itself
                return cls(path, bytes(model_hash), output_size, records, fsync)
            raise DeviceLogError(
                f"{path}: expected a device embedding log of model "
                f"{bytes(model_hash).hex()[:16]}... "
                f"with {output_size}-byte outputs; the file belongs to another model or is "
                "not a log. "
                "Move it away to start over."
            )
        good_end = pos = len(header)
        while pos < len(data):
            if pos + _RECORD_HEAD.size > len(data):
                break
            index, input_crc, counter, n = _RECORD_HEAD.unpack_from(data, pos)
            end = pos + _RECORD_HEAD.size + n + 4
            if n != output_size or end > len(data):
                break
            (crc,) = struct.unpack_from("<I", data, end - 4)
            if crc != crc32(data[pos : end - 4]):
                break
            records[index] = LogRecord(
                index, input_crc, counter, bytes(data[end - 4 - n : end - 4])
            )
            pos = good_end = end
        if good_end < len(data):
            log.warning(
                "%s: dropping %d bytes of a torn or damaged record after %d good records",
                path,
                len(data) - good_end,
                len(records),
            )
            with open(path, "r+b") as f:
                f.truncate(good_end)
        return cls(path, bytes(model_hash), output_size, records, fsync)

    def valid_for(self, index: int, input_crc: int) -> LogRecord | None:
        """The record of crop `index` if it was made from these input bytes."""
        rec = self.records.get(index)
        return rec if rec is not None and rec.input_crc == input_crc else None

    def append(self, index: int, input_crc: int, counter: int, output: bytes) -> LogRecord:
        """Append one record and flush it to the OS (and to disk with `fsync=True`)."""
        if len(output) != self.output_size:
            raise DeviceLogError(
                f"{self.path}: record {index}: expected {self.output_size} output bytes, "
                f"received {len(output)}"
            )
        rec = LogRecord(index, input_crc, counter, bytes(output))
        with self._lock:
            self._file.write(encode_record(index, input_crc, counter, output))
            self._file.flush()
            if self.fsync:
                os.fsync(self._file.fileno())
            self.records[index] = rec
        return rec

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()

    def __enter__(self) -> EmbeddingLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
