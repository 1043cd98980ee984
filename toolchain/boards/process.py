"""Started boards as process groups recorded in pid files, so they can always be ended.

A board process (QEMU, the host firmware) runs in its own session (`start_new_session=True`)
so that stopping it kills everything it spawned, and it is recorded twice: `board.pid` (JSON)
in the project and a pointer to that file in a per-user index directory. `reidtool board stop`
ends the boards of one project or, with `--all`, of every project in the index; test fixtures
call the same function, so no QEMU outlives the tests. Before a signal is sent, the pid's
command line is checked against the recorded one, so a recycled pid is never killed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from toolchain.errors import BoardError
from toolchain.files import atomic_write_text

PID_FILE = "board.pid"


def index_dir() -> Path:
    """The per-user folder of pointers to every started board's pid file."""
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    path = Path(base) / f"reidtool-boards-{os.getuid()}"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


@dataclass
class BoardRecord:
    """What a pid file holds."""

    pid: int
    pgid: int
    board: str
    url: str
    argv0: str
    started: float
    log: str


class BoardProcess:
    """A running board process; `stop()` ends its process group and removes the pid files.

    Args:
        argv: the command (its first element is checked again before any signal).
        project: the project folder where `board.pid` is written.
        board: the board's name (recorded).
        log_path: where the process's stdout and stderr go.
        env: the environment (default: this process's).
    """

    def __init__(
        self,
        argv: list[str],
        project: Path,
        board: str,
        log_path: Path,
        env: dict[str, str] | None = None,
    ):
        self.project = Path(project)
        self.log_path = Path(log_path)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - kept open while the board runs
        try:
            self.popen = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.project,
                env=env,
            )
        except OSError as err:
            self._log.close()
            raise BoardError(f"cannot start board '{board}' ({argv[0]}): {err}") from err
        self.record = BoardRecord(
            pid=self.popen.pid,
            pgid=self.popen.pid,
            board=board,
            url="",
            argv0=os.path.basename(argv[0]),
            started=time.time(),
            log=str(self.log_path),
        )
        self.write_record()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def set_url(self, url: str) -> None:
        self.record.url = url
        self.write_record()

    def write_record(self) -> None:
        pid_file = self.project / PID_FILE
        atomic_write_text(pid_file, json.dumps(asdict(self.record), indent=1))
        atomic_write_text(
            index_dir() / f"{self.record.pid}.json", json.dumps({"pid_file": str(pid_file)})
        )

    def log_tail(self, n: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM the group, SIGKILL after `timeout`, reap, remove the pid files."""
        if self.alive():
            _kill_group(self.record.pgid, timeout, self.popen)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()
        _remove_record(self.project / PID_FILE, self.record.pid)


def _kill_group(pgid: int, timeout: float, popen: subprocess.Popen | None = None) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if popen is not None:
                if popen.poll() is not None:
                    return
            elif not _exists(pgid):
                return
            time.sleep(0.02)


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still "exists" for kill(0); treat it as gone.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _reap(pid: int, timeout: float = 5.0) -> None:
    """Collect the exit status if `pid` is our own child (started in this process).

    A multi-threaded process (QEMU) shows as a zombie while its other threads still exit;
    waitpid only succeeds after that, so poll for a short while."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done == pid or time.monotonic() > deadline:
            return
        time.sleep(0.01)


def _cmdline_matches(pid: int, argv0: str) -> bool:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    first = raw.split(b"\0", 1)[0].decode(errors="replace")
    return os.path.basename(first) == argv0


def _remove_record(pid_file: Path, pid: int) -> None:
    for path in (pid_file, index_dir() / f"{pid}.json"):
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def read_record(pid_file: Path) -> BoardRecord | None:
    """The record in `pid_file`, or None when the file is absent or unreadable."""
    try:
        data = json.loads(Path(pid_file).read_text())
        return BoardRecord(**data)
    except (OSError, ValueError, TypeError):
        return None


def stop_pid_file(pid_file: Path, timeout: float = 5.0) -> BoardRecord | None:
    """End the board recorded in `pid_file` (if it still runs) and remove its records."""
    record = read_record(pid_file)
    if record is None:
        return None
    if _exists(record.pid) and _cmdline_matches(record.pid, record.argv0):
        _kill_group(record.pgid, timeout)
        _reap(record.pid)
    _remove_record(Path(pid_file), record.pid)
    return record


def stop_boards(dir: str | Path | None = None, all: bool = False) -> list[BoardRecord]:  # noqa: A002
    """`reidtool board stop`: end the board of project `dir` (default: the current folder), or
    of every project in the index with `all=True`. Returns the records of what was stopped."""
    stopped: list[BoardRecord] = []
    if all:
        for pointer in sorted(index_dir().glob("*.json")):
            try:
                pid_file = Path(json.loads(pointer.read_text())["pid_file"])
            except (OSError, ValueError, KeyError, TypeError):
                pointer.unlink(missing_ok=True)
                continue
            record = stop_pid_file(pid_file)
            pointer.unlink(missing_ok=True)
            if record is not None:
                stopped.append(record)
        return stopped
    project = Path(dir) if dir is not None else Path.cwd()
    record = stop_pid_file(project / PID_FILE)
    if record is not None:
        stopped.append(record)
    return stopped
