"""Project rendering: every template rendered, the project self-contained, bad requests refused."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from boards_testlib import make_project, write_standin_network

from toolchain.boards.project import generate_project, read_project, render_project
from toolchain.errors import BoardError, ToolMissingError


@pytest.mark.parametrize("board", ["qemu-m55", "host", "STM32N6570-DK"])
def test_render_writes_a_complete_project(tmp_path, board):
    project = make_project(tmp_path / "fw", board)
    names = {p.name for p in project.iterdir()}
    assert {
        "main.c",
        "protocol.c",
        "protocol.h",
        "board.c",
        "board.h",
        "ringbuf.h",
        "Makefile",
        "project.json",
        "model.tflite",
    } <= names
    assert ("linker.ld" in names) == (board != "host")
    assert ("startup.c" in names) == (board != "host")
    record = read_project(project)
    assert record["board"] == board
    for path in project.iterdir():
        if path.suffix in (".c", ".h", ".ld") or path.name == "Makefile":
            text = path.read_text()
            assert "{{" not in text and "{%" not in text, path.name
    # Headers name the source model and the board.
    digest = record["model_hash"]
    assert digest in (project / "main.c").read_text()
    assert digest in (project / "Makefile").read_text()
    assert f'"{board}"' in (project / "board.c").read_text()


def test_linker_script_places_weights_and_sections(tmp_path):
    project = make_project(tmp_path / "fw", "qemu-m55")
    script = (project / "linker.ld").read_text()
    assert "QSPI (r) : ORIGIN = 0x38000000, LENGTH = 0x800000" in script
    assert "KEEP(*(.reid_weights*))\n  } > QSPI" in script
    n6 = (make_project(tmp_path / "n6", "STM32N6") / "linker.ld").read_text()
    assert "AXISRAM1 (rwx) : ORIGIN = 0x34000400, LENGTH = 0xFFC00" in n6


def test_project_builds_after_being_copied_away(tmp_path):
    project = make_project(tmp_path / "fw", "host")
    moved = shutil.copytree(project, tmp_path / "elsewhere" / "copy")
    proc = subprocess.run(["make", "-C", str(moved)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (moved / "firmware").is_file()


@pytest.mark.skipif(shutil.which("stedgeai") is not None, reason="stedgeai is installed here")
def test_stedgeai_backend_needs_st_tool(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(b"x")
    with pytest.raises(ToolMissingError, match="stedgeai"):
        generate_project(model, tmp_path / "fw", backend="stedgeai")
    with pytest.raises(BoardError, match="backend must be one of"):
        generate_project(model, tmp_path / "fw", backend="cube")


def test_missing_model_and_bad_name(tmp_path):
    with pytest.raises(BoardError, match="does not exist"):
        generate_project(tmp_path / "nope.tflite", tmp_path / "fw")
    model = tmp_path / "m.tflite"
    model.write_bytes(b"x")
    with pytest.raises(BoardError, match="C identifier"):
        generate_project(model, tmp_path / "fw", name="re-id")


def test_read_project_names_the_folder(tmp_path):
    with pytest.raises(BoardError, match="not a generated project"):
        read_project(tmp_path)
    (tmp_path / "project.json").write_text("{")
    with pytest.raises(BoardError, match="not valid JSON"):
        read_project(tmp_path)


def test_unknown_template_value_fails_loudly(tmp_path, monkeypatch):
    import toolchain.boards.project as project_mod

    templates = tmp_path / "templates"
    shutil.copytree(project_mod.TEMPLATES, templates)
    (templates / "app" / "extra.c.j2").write_text("/* {{ not_in_context }} */\n")
    monkeypatch.setattr(project_mod, "APP_DIR", templates / "app")
    write_standin_network(tmp_path / "fw")
    with pytest.raises(BoardError, match="extra.c.j2"):
        render_project(tmp_path / "fw", board="host")


def test_the_largest_reply_grows_with_the_output_and_stays_within_one_frame():
    from toolchain.boards.project import max_payload

    assert max_payload({"output_shape": [1, 512], "output_dtype": "int8"}) == 1032
    assert max_payload({"output_shape": [1, 1280], "output_dtype": "int8"}) == 1288
    assert max_payload({"output_shape": [1, 2, 1000], "output_dtype": "float32"}) == 8008
    assert max_payload({}) == 1032  # board-only projects (no network yet)
