"""make-driven builds for the three boards and the size report."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from boards_testlib import make_project

from toolchain.boards.build import build_project, classify, parse_size_a
from toolchain.errors import ToolMissingError

needs_arm = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc not installed"
)


@needs_arm
@pytest.mark.parametrize("board", ["qemu-m55", "STM32N6570-DK"])
def test_cross_build_writes_images_and_report(tmp_path, board, capsys):
    project = make_project(tmp_path / "fw", board)
    report = build_project(project, echo=True)
    for name in ("firmware.elf", "firmware.bin", "firmware.hex"):
        assert (project / name).stat().st_size > 0
    assert report.weights == 64  # the stand-in's weights blob, in .reid_weights
    assert report.text > 1000 and report.bss >= 8192  # code; the RX ring at least
    saved = json.loads((project / "build_report.json").read_text())
    assert saved["text"] == report.text and saved["board"] == board
    assert report.firmware_block() == {
        k: saved[k] for k in ("board", "text", "rodata", "data", "bss")
    }
    table = capsys.readouterr().out
    assert f"{report.text:,}" in table and "weights" in table


def test_host_build_is_an_executable(tmp_path):
    project = make_project(tmp_path / "fw", "host")
    report = build_project(project)
    assert report.image == "firmware" and os.access(project / "firmware", os.X_OK)
    assert report.text > 0 and report.weights == 64


def test_size_table_parsing():
    text = """firmware.elf  :
section              size        addr
.text                4800   268435456
.rodata               144   268440256
.reid_weights          64   939524096
.data                   8   822083584
.bss                77688   822083600
.stack              65536   805306368
.comment               73           0
Total               82813
"""
    sections = parse_size_a(text)
    assert sections[".reid_weights"] == 64 and ".comment" in sections
    totals = classify(sections)
    assert totals == {"text": 4800, "rodata": 208, "data": 8, "bss": 77688 + 65536, "weights": 64}


def test_missing_cross_compiler_names_the_package(tmp_path, monkeypatch):
    project = make_project(tmp_path / "fw", "qemu-m55")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(ToolMissingError) as err:
        build_project(project)
    assert err.value.exit_code == 2
    assert "arm-none-eabi-gcc" in str(err.value) and "gcc-arm-none-eabi" in str(err.value)
