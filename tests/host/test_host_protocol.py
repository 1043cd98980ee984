"""host/protocol.py and firmware_templates/app/protocol.c against docs/protocol.md's vectors,
and against each other on random damaged streams."""

from __future__ import annotations

import random
import re
import struct
import subprocess

import pytest
from host_testlib import ROOT, build_vector_tool, have_gcc

from host import protocol as P
from host.errors import ProtocolError

DOC = ROOT / "docs" / "protocol.md"


def doc_vectors() -> list[list[str]]:
    text = DOC.read_text()
    block = re.search(r"```vectors\n(.*?)```", text, re.S)
    assert block, "docs/protocol.md has no ```vectors block"
    lines = [
        ln.split() for ln in block.group(1).splitlines() if ln.strip() and not ln.startswith("#")
    ]
    assert len(lines) >= 20
    return lines


def unhex(s: str) -> bytes:
    return b"" if s == "-" else bytes.fromhex(s)


def events_text(events, pk: P.Packetizer) -> str:
    out = []
    for e in events:
        if isinstance(e, P.Frame):
            out.append(f"F:{e.type:02x}:{e.seq:02x}:{e.status:02x}:{e.payload.hex() or '-'}")
        else:
            out.append(f"E:{e.type:02x}:{e.seq:02x}:{e.status:02x}:{e.length}")
    out.append(f"end:{pk.skipped}:{pk.pending}")
    return ",".join(out)


def python_decode(stream: bytes, bytewise: bool = True) -> str:
    pk = P.Packetizer()
    events = []
    if bytewise:
        for b in stream:
            events += pk.feed(bytes([b]))
    else:
        events = pk.feed(stream)
    return events_text(events, pk)


def test_python_side_matches_the_vectors():
    kinds = set()
    for v in doc_vectors():
        kinds.add(v[0])
        if v[0] == "crc":
            assert f"{P.crc32(unhex(v[1])):08x}" == v[2]
        elif v[0] == "frame":
            t, s, st = (int(x, 16) for x in v[1:4])
            assert P.encode_frame(t, s, unhex(v[4]), st).hex() == v[5]
        elif v[0] == "decode":
            assert python_decode(unhex(v[1])) == v[2]
            assert python_decode(unhex(v[1]), bytewise=False) == v[2]
    assert kinds == {"crc", "frame", "decode"}


@pytest.fixture(scope="module")
def vector_tool(tmp_path_factory):
    if not have_gcc():
        pytest.skip("gcc not installed")
    return build_vector_tool(tmp_path_factory.mktemp("vt"))


def run_tool(tool, lines: list[str]) -> list[str]:
    proc = subprocess.run(
        [str(tool)], input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "runtime error" not in proc.stderr and "AddressSanitizer" not in proc.stderr, proc.stderr
    return proc.stdout.splitlines()


def c_decode_text(out_lines: list[str]) -> list[str]:
    """Group the tool's event lines per decode command into the vector notation."""
    results, cur = [], []
    for ln in out_lines:
        f = ln.split()
        if f[0] == "F":
            cur.append(f"F:{f[1]}:{f[2]}:{f[3]}:{f[4]}")
        elif f[0] == "E":
            cur.append(f"E:{f[1]}:{f[2]}:{f[3]}:{f[4]}")
        elif f[0] == "end":
            cur.append(f"end:{f[1]}:{f[2]}")
            results.append(",".join(cur))
            cur = []
    return results


def test_c_side_matches_the_vectors(vector_tool):
    vectors = doc_vectors()
    cmds, expected = [], []
    for v in vectors:
        if v[0] == "crc":
            cmds.append(f"crc {v[1]}")
            expected.append(v[2])
        elif v[0] == "frame":
            cmds.append(f"frame {v[1]} {v[2]} {v[3]} {v[4]}")
            expected.append(v[5])
    out = run_tool(vector_tool, cmds)
    assert out == expected
    decodes = [v for v in vectors if v[0] == "decode"]
    got = c_decode_text(run_tool(vector_tool, [f"decode {v[1]}" for v in decodes]))
    assert got == [v[2] for v in decodes]


def damaged_stream(rng: random.Random) -> bytes:
    """Frames of every kind, then garbage, truncation, bit flips, oversized headers."""
    out = bytearray()
    for _ in range(rng.randrange(1, 8)):
        kind = rng.randrange(6)
        payload = bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 4, 40, 1032])))
        frame = bytearray(
            P.encode_frame(rng.randrange(256), rng.randrange(256), payload, rng.randrange(10))
        )
        if kind == 1:
            frame = frame[: rng.randrange(1, len(frame))]
        elif kind == 2:
            i = rng.randrange(len(frame))
            frame[i] ^= 1 << rng.randrange(8)
        elif kind == 3:
            frame = (
                bytearray(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 30)))) + frame
            )
        elif kind == 4:
            head = bytearray(P.SYNC + struct.pack("<BBBH", 2, 1, 0, rng.randrange(1033, 65536)))
            frame = head + bytes([P.header_check(head)]) + frame
        out += frame
    return bytes(out)


def test_c_and_python_decoders_agree_on_random_damaged_streams(vector_tool):
    rng = random.Random(1234)
    streams = [damaged_stream(rng) for _ in range(150)]
    got = c_decode_text(run_tool(vector_tool, [f"decode {s.hex() or '-'}" for s in streams]))
    want = [python_decode(s, bytewise=False) for s in streams]
    assert got == want
    # The damage really produced both kinds of errors and still decoded frames.
    events = ",".join(want).split(",")
    assert any(e.startswith("E:") and e.split(":")[3] == "01" for e in events)  # BAD_CRC
    assert any(e.startswith("E:") and e.split(":")[3] == "02" for e in events)  # BAD_LENGTH
    assert any(e.startswith("F:") for e in events)


def test_packetizer_recovers_every_frame_after_garbage_and_a_truncated_frame():
    good = [
        P.encode_frame(P.MsgType.DATA, s, P.encode_data(s * 10, bytes([s] * 10))) for s in range(5)
    ]
    stream = (
        b"\xa5\xa5\x00\x5a" + good[0] + good[1][:7] + good[2] + b"garbage\xa5" + good[3] + good[4]
    )
    pk = P.Packetizer()
    frames = [e for e in pk.feed(stream) if isinstance(e, P.Frame)]
    assert [f.seq for f in frames] == [0, 2, 3, 4]
    assert pk.pending == 0


def test_encode_rejects_out_of_range_fields():
    with pytest.raises(ProtocolError, match="at most 1032"):
        P.encode_frame(P.MsgType.DATA, 1, bytes(1033))
    with pytest.raises(ProtocolError, match="seq"):
        P.encode_frame(P.MsgType.HELLO, 256)


def test_info_round_trip_and_size_check():
    info = P.BoardInfo(
        1,
        1032,
        4096,
        "reidtool 0.1.0",
        "qemu-m55",
        bytes(range(32)),
        "uint8",
        "int8",
        (64, 32, 3),
        6144,
        1.0,
        0,
        128,
        0.0078125,
        -3,
        50000,
        120000,
        42,
        "instructions",
    )
    payload = P.encode_info(info)
    assert len(payload) == P.INFO_SIZE == 144
    assert P.decode_info(payload) == info
    with pytest.raises(ProtocolError, match="144"):
        P.decode_info(payload[:-1])
