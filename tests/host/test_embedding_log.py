"""device_embeddings.log: records survive, a torn last record is cut, another model is refused."""

from __future__ import annotations

import pytest

from host.embedding_log import EmbeddingLog
from host.errors import DeviceLogError

HASH = bytes(range(32))


def fill(path, n, size=16):
    with EmbeddingLog.open(path, HASH, size) as log:
        for i in range(n):
            log.append(i, 1000 + i, 50 + i, bytes([i]) * size)


def test_records_round_trip(tmp_path):
    path = tmp_path / "device_embeddings.log"
    fill(path, 5)
    with EmbeddingLog.open(path, HASH, 16) as log:
        assert sorted(log.records) == [0, 1, 2, 3, 4]
        assert log.records[3].output == bytes([3]) * 16 and log.records[3].counter == 53
        assert log.valid_for(3, 1003) is not None
        assert log.valid_for(3, 9999) is None  # the crop at index 3 changed: not reused


@pytest.mark.parametrize("cut", [1, 5, 20, 33])
def test_a_torn_last_record_is_cut_and_appending_continues(tmp_path, cut):
    path = tmp_path / "device_embeddings.log"
    fill(path, 4)
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(size - cut)
    with EmbeddingLog.open(path, HASH, 16) as log:
        assert sorted(log.records) == [0, 1, 2]
        log.append(3, 1003, 53, bytes([3]) * 16)
    assert path.stat().st_size == size
    with EmbeddingLog.open(path, HASH, 16) as log:
        assert sorted(log.records) == [0, 1, 2, 3]


def test_a_damaged_record_ends_the_valid_part(tmp_path):
    path = tmp_path / "device_embeddings.log"
    fill(path, 4)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF  # inside the last record's output
    path.write_bytes(bytes(data))
    with EmbeddingLog.open(path, HASH, 16) as log:
        assert sorted(log.records) == [0, 1, 2]


def test_another_model_is_refused(tmp_path):
    path = tmp_path / "device_embeddings.log"
    fill(path, 2)
    with pytest.raises(DeviceLogError, match="another model"):
        EmbeddingLog.open(path, bytes(32), 16)
    with pytest.raises(DeviceLogError, match="another model"):
        EmbeddingLog.open(path, HASH, 8)


def test_wrong_output_size_is_rejected(tmp_path):
    with (
        EmbeddingLog.open(tmp_path / "l.log", HASH, 16) as log,
        pytest.raises(DeviceLogError, match="16"),
    ):
        log.append(0, 0, 0, b"short")
