"""Flashing the STM32N6570-DK: exact STM32_Programmer_CLI commands, a missing tool named."""

from __future__ import annotations

import shlex

import pytest
from boards_testlib import make_project

from toolchain.boards.flash import flash
from toolchain.errors import BoardError, ToolMissingError


def test_dry_run_prints_the_exact_commands(tmp_path, capsys):
    project = make_project(tmp_path / "fw", "STM32N6")
    assert flash(project, "STM32N6", dry_run=True) is None
    lines = capsys.readouterr().out.splitlines()
    elf = str((project / "firmware.elf").resolve())
    assert lines == [
        shlex.join(["STM32_Programmer_CLI", "-c", "port=SWD", "mode=HOTPLUG", "-w", elf, "-s"])
    ]


def test_unbuilt_project_is_refused(tmp_path):
    project = make_project(tmp_path / "fw", "STM32N6")
    with pytest.raises(BoardError, match="build the project first"):
        flash(project, "STM32N6570-DK")


def test_missing_programmer_names_it_and_where_to_get_it(tmp_path, monkeypatch):
    project = make_project(tmp_path / "fw", "STM32N6")
    (project / "firmware.elf").write_bytes(b"\x7fELF")
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(ToolMissingError) as err:
        flash(project, "STM32N6")
    assert err.value.exit_code == 2
    message = str(err.value)
    assert "STM32_Programmer_CLI" in message and "STM32CubeProgrammer 2.18" in message
    assert "st.com" in message
