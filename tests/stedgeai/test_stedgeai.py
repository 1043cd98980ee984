"""The stedgeai wrapper: command construction per command and target, version and report
parsing, options, the N6 boot flows, and the missing-tool errors.

ST's tools are proprietary downloads that cannot be installed on this machine: the test that
runs the real `stedgeai` is skipped with that reason when it is absent. The report fixtures
are sample documents in the layout of ST's reports (see fixtures/README.md)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from toolchain import stedgeai
from toolchain.boards.flash import flash
from toolchain.boards.stm32n6 import (
    N6_APP_ADDRESS,
    N6_EXTERNAL_LOADER,
    N6_FSBL_ADDRESS,
    N6_WEIGHTS_ADDRESS,
    boot_commands,
)
from toolchain.errors import NotAvailableError, ReidtoolError, ToolMissingError, UsageError

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
TOOL = stedgeai.StEdgeAi("/opt/ST/STEdgeAI/3.0/Utilities/linux/stedgeai", "3.0")
IO = ("uint8", "int8")


def test_version_and_root_from_install_layout_and_output():
    assert stedgeai.version_from_path("C:/ST/STEdgeAI/3.0/Utilities/windows/stedgeai.exe") == "3.0"
    assert stedgeai.version_from_path("/usr/local/bin/stedgeai") is None
    assert stedgeai.version_from_output("ST Edge AI Core v2.1.0-20194 329b0e98d\n") == "2.1.0"
    assert stedgeai.root_from_path(TOOL.path) == Path("/opt/ST/STEdgeAI/3.0")
    assert stedgeai.root_from_path("/usr/local/bin/stedgeai") is None


def test_version_from_the_tools_output_when_the_layout_has_none(tmp_path):
    exe = tmp_path / "bin" / "stedgeai"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\necho 'ST Edge AI Core v2.2.0-20266 2adc00962'\n")
    exe.chmod(0o755)
    found = stedgeai.find_stedgeai(str(exe))
    assert (found.path, found.version, found.root) == (str(exe), "2.2.0", None)


def test_generate_command_for_the_n6_npu_and_for_the_m55_cpu(tmp_path):
    common = [
        TOOL.path, "generate", "--model", "m.tflite", "--target", "stm32n6", "--name", "reid",
        "--output", str(tmp_path), "--workspace", str(tmp_path / "workspace"),
        "--c-api", "st-ai", "--input-data-type", "uint8", "--output-data-type", "int8",
        "--inputs-ch-position", "chlast", "--outputs-ch-position", "chlast",
        "--no-outputs-allocation",
    ]  # fmt: skip
    npu = stedgeai.generate_command(
        TOOL, "m.tflite", target="stm32n6", out_dir=tmp_path, name="reid",
        neural_art="user_neuralart.json", io_types=IO,
    )  # fmt: skip
    assert npu == common + ["--st-neural-art", "default@user_neuralart.json"]
    cpu = stedgeai.generate_command(
        TOOL, "m.tflite", target="stm32n6", out_dir=tmp_path, name="reid", optimization="ram",
        io_types=IO,
    )  # fmt: skip
    assert cpu == common + ["-O", "ram", "--allocate-inputs"]
    with pytest.raises(UsageError, match="received 'fast'"):
        stedgeai.generate_command(
            TOOL, "m.tflite", target="stm32", out_dir=tmp_path, optimization="fast", io_types=IO
        )


def test_io_types_come_from_the_model(tiny_model, tmp_path):
    cmd = stedgeai.generate_command(TOOL, tiny_model, target="stm32n6", out_dir=tmp_path)
    assert cmd[cmd.index("--input-data-type") + 1] == "uint8"
    assert cmd[cmd.index("--output-data-type") + 1] == "int8"


def test_generate_commands_per_board(tiny_model, tmp_path):
    options = stedgeai.StEdgeAiOptions(optimization="time", neural_art="na.json", profile="fast")
    (m55,) = stedgeai.generate_commands(
        tiny_model, tmp_path, board="qemu-m55", name="reid", options=options, tool=TOOL
    )
    assert m55[m55.index("--output") + 1] == str(tmp_path / "st_ai_output")
    assert m55[-3:] == ["-O", "time", "--allocate-inputs"]
    (n6,) = stedgeai.generate_commands(
        tiny_model, tmp_path, board="STM32N6", name="reid", options=options, tool=TOOL
    )
    assert n6[-2:] == ["--st-neural-art", "fast@na.json"]


def test_analyze_and_validate_commands(tmp_path):
    assert stedgeai.analyze_command(TOOL, "m.tflite", target="stm32n6", out_dir=tmp_path) == [
        TOOL.path, "analyze", "--model", "m.tflite", "--target", "stm32n6", "--name", "network",
        "--output", str(tmp_path), "--workspace", str(tmp_path / "workspace"), "-O", "balanced",
    ]  # fmt: skip
    host = stedgeai.validate_command(
        TOOL, "m.tflite", target="stm32n6", mode="host", out_dir=tmp_path, inputs="x.npz"
    )
    assert host[1] == "validate" and host[-4:] == ["--mode", "host", "-vi", "x.npz"]
    board = stedgeai.validate_command(
        TOOL, "m.tflite", target="stm32n6", mode="target", out_dir=tmp_path, port="/dev/ttyACM0"
    )
    assert board[-4:] == ["--mode", "target", "-d", "serial:/dev/ttyACM0:921600"]
    bare = stedgeai.validate_command(TOOL, "m", target="stm32n6", mode="target", out_dir=tmp_path)
    assert bare[-2:] == ["-d", "serial:921600"]
    with pytest.raises(UsageError, match="mode 'board'"):
        stedgeai.validate_command(TOOL, "m", target="stm32n6", mode="board", out_dir=tmp_path)


def test_targets_of_the_boards():
    assert stedgeai.target_for("STM32N6") == "stm32n6" and stedgeai.uses_neural_art("STM32N6")
    assert stedgeai.target_for("qemu-m55") == "stm32n6"
    assert not stedgeai.uses_neural_art("qemu-m55")


def test_options_from_config_and_their_checks():
    options = stedgeai.StEdgeAiOptions.from_config(
        {
            "optimization": "ram",
            "on_cloud": False,
            "path_to_stedgeai": "/x/stedgeai",
            "version": "3",
        }
    )
    assert options == stedgeai.StEdgeAiOptions(optimization="ram", path_to_stedgeai="/x/stedgeai")
    assert stedgeai.StEdgeAiOptions.from_config({"optimization": None}).optimization == "balanced"
    with pytest.raises(NotAvailableError, match="on_cloud.*ST account"):
        stedgeai.StEdgeAiOptions(on_cloud=True).check()
    with pytest.raises(UsageError, match="received 'fast'"):
        stedgeai.StEdgeAiOptions(optimization="fast").check()


def test_text_report_parsing():
    block = stedgeai.parse_report((FIXTURES / "network_generate_report.txt").read_text())
    assert block == {
        "params": 133938,
        "macs": 84510912,
        "weights_bytes": 143360,
        "arena_bytes": 338944,
        "ram_total_bytes": 338944,
        "backend": {"tool": "stedgeai", "version": "3.0.0"},
    }
    with pytest.raises(ReidtoolError, match="not a stedgeai report"):
        stedgeai.parse_report("hello")


def test_c_info_parsing():
    data = json.loads((FIXTURES / "network_c_info.json").read_text())
    block = stedgeai.parse_c_info(data)
    assert block["macs"] == 5308416 + 1327104 + 2654208 + 40960 + 655872
    assert (block["weights_bytes"], block["arena_bytes"], block["io_bytes"]) == (
        417792,
        393216,
        98304 + 512,
    )
    assert block["macs_per_layer"][0] == {"name": "conv2d_0", "op": "Conv2D", "macs": 5308416}
    assert block["backend"] == {"tool": "stedgeai", "version": "3.0.0"}
    with pytest.raises(ReidtoolError, match="json_schema_version '1.1'"):
        stedgeai.parse_c_info({**data, "json_schema_version": "1.1"})
    broken = {k: v for k, v in data.items() if k != "memory_footprint"}
    with pytest.raises(ReidtoolError, match="x.json: missing or malformed key 'memory_footprint'"):
        stedgeai.parse_c_info(broken, "x.json")


def test_read_reports_prefers_c_info_and_keeps_params_from_the_text(tmp_path):
    shutil.copy(FIXTURES / "network_c_info.json", tmp_path / "reid_c_info.json")
    shutil.copy(FIXTURES / "network_generate_report.txt", tmp_path / "reid_generate_report.txt")
    block = stedgeai.read_reports(tmp_path, "reid")
    assert block["params"] == 133938 and block["arena_bytes"] == 393216
    with pytest.raises(ReidtoolError, match="neither other_c_info.json nor"):
        stedgeai.read_reports(tmp_path, "other")


def test_n6_boot_commands(tmp_path):
    project = tmp_path.resolve()
    assert boot_commands(tmp_path) == [
        ["STM32_Programmer_CLI", "-c", "port=SWD", "mode=HOTPLUG", "-w",
         str(project / "firmware.elf"), "-s"]
    ]  # fmt: skip
    sign, fsbl, app, weights = boot_commands(tmp_path, "flash", weights=tmp_path / "w.bin")
    assert sign == [
        "STM32_SigningTool_CLI", "-s", "-bin", str(project / "firmware.bin"), "-nk", "-t", "ssbl",
        "-hv", "2.3", "-o", str(project / "firmware_signed.bin"),
    ]  # fmt: skip
    extload = ["STM32_Programmer_CLI", "-c", "port=SWD", "mode=HOTPLUG", "-el"]
    assert fsbl[:5] == extload and fsbl[5].endswith(N6_EXTERNAL_LOADER)
    assert fsbl[6:] == ["-hardRst", "-w", str(project / "ai_fsbl.hex")]  # hex: own addresses
    assert app[-2:] == [str(project / "firmware_signed.bin"), N6_APP_ADDRESS]
    assert weights[-2:] == [str(tmp_path / "w.bin"), N6_WEIGHTS_ADDRESS]
    _, bin_fsbl, _ = boot_commands(tmp_path, "flash", fsbl=tmp_path / "fsbl.bin")
    assert bin_fsbl[-2:] == [str(tmp_path / "fsbl.bin"), N6_FSBL_ADDRESS]
    with pytest.raises(UsageError, match="boot mode 'xip'"):
        boot_commands(tmp_path, "xip")


def _n6_project(path: Path) -> Path:
    path.mkdir()
    (path / "project.json").write_text(json.dumps({"board": "STM32N6570-DK", "network": {}}))
    return path


def test_flash_dry_run_prints_the_flash_boot_flow(tmp_path, capsys):
    project = _n6_project(tmp_path / "fw")
    flash(project, "STM32N6", dry_run=True, boot="flash")
    lines = capsys.readouterr().out.splitlines()
    assert [shlex.split(line) for line in lines] == boot_commands(project, "flash")
    with pytest.raises(UsageError, match="STM32N6570-DK only"):
        flash(project, "qemu-m55", dry_run=True, boot="flash")


def _path_without(*tools: str) -> str:
    """PATH with no folder holding any of `tools` (ST's tools are not installed here anyway)."""
    dirs = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(d for d in dirs if d and not any((Path(d) / t).exists() for t in tools))


def test_missing_signing_tool_names_it_version_and_source(tmp_path, monkeypatch):
    project = _n6_project(tmp_path / "fw")
    (project / "firmware.elf").write_bytes(b"\x7fELF")
    monkeypatch.setenv("PATH", _path_without("STM32_SigningTool_CLI", "STM32_Programmer_CLI"))
    with pytest.raises(ToolMissingError) as err:
        flash(project, "STM32N6", boot="flash")
    message = str(err.value)
    assert err.value.exit_code == 2 and "'STM32_SigningTool_CLI'" in message
    assert "STM32CubeProgrammer 2.18" in message and "st.com" in message


def test_missing_stedgeai_names_tool_version_and_source(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", _path_without("stedgeai"))
    with pytest.raises(ToolMissingError) as info:
        stedgeai.find_stedgeai(None)
    message = str(info.value)
    assert "'stedgeai'" in message and "ST Edge AI Core 3.0" in message and "st.com" in message
    assert "path_to_stedgeai" in message
    with pytest.raises(ToolMissingError, match="'stedgeai'"):
        stedgeai.find_stedgeai(str(tmp_path / "nowhere" / "stedgeai"))
    model = tmp_path / "m.tflite"
    model.write_bytes(b"not needed: the tool is looked up first")
    proc = subprocess.run(
        [sys.executable, "-m", "toolchain.cli", "generate", str(model), "--out",
         str(tmp_path / "p"), "--board", "STM32N6", "--backend", "stedgeai"],
        capture_output=True, text=True, env={**os.environ, "PATH": _path_without("stedgeai")},
        cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "stedgeai" in proc.stderr and "ST Edge AI Core 3.0" in proc.stderr


@pytest.mark.stedgeai
@pytest.mark.skipif(
    shutil.which("stedgeai") is None,
    reason="ST Edge AI Core (stedgeai) is not installed; it is a proprietary download that "
    "reidtool never fetches",
)
def test_real_stedgeai_generates_and_reports(tiny_model, tmp_path):
    block = stedgeai.generate(tiny_model, tmp_path, board="qemu-m55", name="reid")
    assert block["macs"] > 0 and block["weights_bytes"] > 0
    assert block["backend"]["version"]
