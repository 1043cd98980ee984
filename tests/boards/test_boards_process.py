"""Board processes: own process group, pid files, stop by group, recycled pids left alone."""

from __future__ import annotations

import json
import os
import time

from toolchain.boards.process import (
    PID_FILE,
    BoardProcess,
    index_dir,
    read_record,
    stop_boards,
    stop_pid_file,
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_stop_ends_the_whole_group(tmp_path):
    # A shell that starts a grandchild: stopping the board must end both.
    script = "sleep 60 & echo $! > child.pid; wait"
    proc = BoardProcess(["sh", "-c", script], tmp_path, "test", tmp_path / "log.txt")
    for _ in range(200):
        if (tmp_path / "child.pid").is_file() and (tmp_path / "child.pid").read_text().strip():
            break
        time.sleep(0.01)
    child = int((tmp_path / "child.pid").read_text())
    assert os.getpgid(proc.pid) == proc.pid != os.getpgid(0)
    record = read_record(tmp_path / PID_FILE)
    assert record.pid == proc.pid and record.argv0 == "sh"
    assert json.loads((index_dir() / f"{proc.pid}.json").read_text())["pid_file"] == str(
        tmp_path / PID_FILE
    )
    stopped = stop_boards(tmp_path)
    assert [r.pid for r in stopped] == [proc.pid]
    for _ in range(200):
        if not _alive(child):
            break
        time.sleep(0.01)
    assert not _alive(proc.pid) and not _alive(child)
    assert not (tmp_path / PID_FILE).exists() and not (index_dir() / f"{proc.pid}.json").exists()
    proc.stop()


def test_recycled_pid_is_not_killed(tmp_path):
    proc = BoardProcess(["sleep", "30"], tmp_path, "test", tmp_path / "log.txt")
    record = json.loads((tmp_path / PID_FILE).read_text())
    record["argv0"] = "qemu-system-arm"  # the pid now belongs to another program
    (tmp_path / PID_FILE).write_text(json.dumps(record))
    stop_pid_file(tmp_path / PID_FILE)
    assert _alive(proc.pid)
    assert not (tmp_path / PID_FILE).exists()
    proc.stop()
    assert not _alive(proc.pid)


def test_stop_without_a_board_is_a_no_op(tmp_path):
    assert stop_boards(tmp_path) == []
    (tmp_path / PID_FILE).write_text("not json")
    assert stop_boards(tmp_path) == []
