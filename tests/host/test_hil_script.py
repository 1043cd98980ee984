"""scripts/hil.sh: usage errors exit 2 with a message naming what is missing."""

from __future__ import annotations

import os
import subprocess

from host_testlib import ROOT

SCRIPT = ROOT / "scripts" / "hil.sh"


def run(*args, **env):
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        cwd=ROOT,
    )


def test_usage_without_board():
    proc = run()
    assert proc.returncode == 2 and "scripts/hil.sh BOARD [PORT]" in proc.stdout


def test_no_model_and_no_port(tmp_path):
    proc = run("qemu-m55", RUN_DIR=str(tmp_path / "run"))
    assert proc.returncode == 2 and "no int8 model" in proc.stderr
    proc = run("STM32N6", SKIP_FLASH="1", RUN_DIR=str(tmp_path / "run"))
    assert proc.returncode == 2 and "pass its serial port" in proc.stderr
