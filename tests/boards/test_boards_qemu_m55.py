"""The virtual Cortex-M55 (QEMU mps3-an547): real firmware, real UART interrupts, real QSPI
weights, answers checked bit for bit; no QEMU outlives a test."""

from __future__ import annotations

import hashlib
import os
import shutil

import pytest
from boards_testlib import infer_all, make_project, random_inputs, standin_network

from toolchain.boards import get_board
from toolchain.boards.build import build_project
from toolchain.boards.flash import flash
from toolchain.boards.process import PID_FILE, read_record, stop_boards

pytestmark = pytest.mark.qemu  # tests/conftest.py: xdist group, skipped without the tools


@pytest.fixture(scope="module")
def qemu_project(tmp_path_factory):
    project = make_project(tmp_path_factory.mktemp("qemu") / "fw", "qemu-m55")
    build_project(project)
    yield project
    stop_boards(project)


@pytest.fixture
def board():
    b = get_board("qemu-m55")
    yield b
    b.stop()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_qemu_answers_bit_for_bit_with_instruction_counts(board, qemu_project):
    url = board.start(qemu_project)
    assert url.startswith("socket://127.0.0.1:")
    inputs = random_inputs(3)
    digest = hashlib.sha256((qemu_project / "model.tflite").read_bytes()).digest()
    info, outputs, counts = infer_all(url, digest, [x.tobytes() for x in inputs])
    assert info.board == "qemu-m55" and info.counter_unit == "instructions"
    assert outputs == [standin_network(x) for x in inputs]
    # -icount shift=0: the same (data-independent) work costs the same instruction count, to
    # within the SysTick granularity (31.25 instructions; one tick either side at each end).
    assert counts[0] > 10_000 and max(counts) - min(counts) <= 2 * 32
    pid = board.process.pid
    board.stop()
    assert _gone(pid) and not (qemu_project / PID_FILE).exists()


def test_flash_prints_url_and_board_stop_ends_it(qemu_project, capsys):
    url = flash(qemu_project, "qemu-m55")
    out = capsys.readouterr().out.splitlines()
    assert url in out  # on its own line
    record = read_record(qemu_project / PID_FILE)
    assert f"pid {record.pid}" in out
    assert "qemu" not in " ".join(out).lower()  # QEMU's own output goes to qemu.log
    stopped = stop_boards(qemu_project)
    assert [r.pid for r in stopped] == [record.pid]
    assert _gone(record.pid)


def test_stop_all_ends_every_recorded_board(qemu_project, tmp_path, monkeypatch):
    # A private index: `--all` must not end boards other tests (other xdist workers) run.
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "runtime"))
    first = get_board("qemu-m55")
    first.start(qemu_project)
    other = shutil.copytree(
        qemu_project, tmp_path / "other", ignore=shutil.ignore_patterns(PID_FILE)
    )
    second = get_board("qemu-m55")
    second.start(other)
    pids = {first.process.pid, second.process.pid}
    stopped = {r.pid for r in stop_boards(all=True)}
    assert pids <= stopped
    assert all(_gone(p) for p in pids)
    first.stop()
    second.stop()
