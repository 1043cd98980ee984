"""The stedgeai wrapper: command construction, version and report parsing, missing-tool errors.

ST Edge AI Core is a proprietary download that cannot be installed on this machine; the test
that runs the real tool is skipped when it is absent. The report fixture follows the layout of
`stedgeai generate` text reports (summary lines `params #`, `macc`, `weights (ro)`,
`activations (rw)`, `ram (total)`) as seen in public ST Edge AI Core v1.0-v2.1 reports; its
figures are reidtool's own (STM32Cube.AI's published STM32H7 footprint of osnet_a025)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from toolchain import stedgeai
from toolchain.boards.stm32n6 import (
    N6_EXTERNAL_LOADER,
    N6_FSBL_ADDRESS,
    N6_WEIGHTS_ADDRESS,
    boot_commands,
)
from toolchain.errors import ToolMissingError

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
TOOL = stedgeai.StEdgeAi("/opt/ST/STEdgeAI/3.0/Utilities/linux/stedgeai", "3.0")


def test_version_from_install_layout_and_output():
    assert stedgeai.version_from_path("C:/ST/STEdgeAI/3.0/Utilities/windows/stedgeai.exe") == "3.0"
    assert stedgeai.version_from_path("/usr/local/bin/stedgeai") is None
    assert stedgeai.version_from_output("ST Edge AI Core v2.1.0-20194 329b0e98d\n") == "2.1.0"


def test_generate_command_for_the_n6_and_for_mcus(tmp_path):
    n6 = stedgeai.generate_command(
        TOOL,
        "m.tflite",
        target="stm32n6",
        out_dir=tmp_path,
        name="reid",
        neural_art="user_neuralart.json",
        io_types=("uint8", "int8"),
    )
    assert n6 == [
        TOOL.path,
        "generate",
        "--model",
        "m.tflite",
        "--target",
        "stm32n6",
        "--name",
        "reid",
        "--input-data-type",
        "uint8",
        "--output-data-type",
        "int8",
        "--inputs-ch-position",
        "chlast",
        "--outputs-ch-position",
        "chlast",
        "--output",
        str(tmp_path),
        "--workspace",
        str(tmp_path / "workspace"),
        "--st-neural-art",
        "default@user_neuralart.json",
    ]
    mcu = stedgeai.generate_command(
        TOOL,
        "m.tflite",
        target="stm32",
        out_dir=tmp_path,
        optimization="ram",
        io_types=("uint8", "int8"),
    )
    assert mcu[-4:] == ["-O", "ram", "--allocate-inputs", "--no-outputs-allocation"]
    with pytest.raises(Exception, match="Neural-ART profile"):
        stedgeai.generate_command(
            TOOL, "m.tflite", target="stm32n6", out_dir=tmp_path, io_types=("uint8", "int8")
        )
    with pytest.raises(Exception, match="optimization 'fast'"):
        stedgeai.generate_command(
            TOOL,
            "m.tflite",
            target="stm32",
            out_dir=tmp_path,
            optimization="fast",
            io_types=("uint8", "int8"),
        )


def test_io_types_come_from_the_model(trained_quickstart, tmp_path):
    cmd = stedgeai.generate_command(
        TOOL, trained_quickstart.int8_path, target="stm32", out_dir=tmp_path
    )
    assert cmd[cmd.index("--input-data-type") + 1] == "uint8"
    assert cmd[cmd.index("--output-data-type") + 1] == "int8"


def test_analyze_and_validate_commands(tmp_path):
    assert stedgeai.analyze_command(TOOL, "m.tflite", target="stm32", out_dir=tmp_path)[:8] == [
        TOOL.path,
        "analyze",
        "--model",
        "m.tflite",
        "--target",
        "stm32",
        "--name",
        "network",
    ]
    host = stedgeai.validate_command(
        TOOL, "m.tflite", target="stm32", mode="host", out_dir=tmp_path, inputs="x.npz"
    )
    assert host[host.index("--mode") + 1] == "host" and host[-2:] == ["-vi", "x.npz"]
    board = stedgeai.validate_command(
        TOOL,
        "m.tflite",
        target="stm32n6",
        mode="target",
        out_dir=tmp_path,
        baud=921600,
        port="/dev/ttyACM0",
    )
    assert board[-2:] == ["-d", "serial:/dev/ttyACM0:921600"]
    assert stedgeai.validate_command(TOOL, "m", target="stm32", mode="target", out_dir=tmp_path)[
        -2:
    ] == ["-d", "serial:921600"]


def test_targets_of_the_boards():
    assert stedgeai.target_for("STM32N6") == "stm32n6"
    assert stedgeai.target_for("qemu-m55") == "stm32"


def test_report_parsing():
    block = stedgeai.parse_report((FIXTURES / "network_generate_report.txt").read_text())
    assert block == {
        "params": 133938,
        "macs": 84510912,
        "weights_bytes": 143360,
        "arena_bytes": 338944,
        "ram_total_bytes": 338944,
        "backend": {"tool": "stedgeai", "version": "3.0.0"},
    }
    with pytest.raises(Exception, match="not a stedgeai report"):
        stedgeai.parse_report("hello")


def test_n6_boot_commands(tmp_path):
    dev = boot_commands(tmp_path)
    assert dev == [
        [
            "STM32_Programmer_CLI",
            "-c",
            "port=SWD",
            "mode=HOTPLUG",
            "-w",
            str(tmp_path.resolve() / "firmware.elf"),
            "-s",
        ]
    ]
    sign, program, weights = boot_commands(tmp_path, "flash", weights=tmp_path / "w.bin")
    assert sign[0] == "STM32_SigningTool_CLI" and sign[sign.index("-t") + 1] == "ssbl"
    assert program[:6] == [
        "STM32_Programmer_CLI",
        "-c",
        "port=SWD",
        "mode=HOTPLUG",
        "-el",
        N6_EXTERNAL_LOADER,
    ]
    assert program[-1] == N6_FSBL_ADDRESS and weights[-1] == N6_WEIGHTS_ADDRESS


def _without(tool: str) -> dict[str, str]:
    """The environment with a PATH holding none of ST's tools."""
    dirs = [
        d
        for d in os.environ.get("PATH", "").split(os.pathsep)
        if d and not (Path(d) / tool).exists()
    ]
    return {**os.environ, "PATH": os.pathsep.join(dirs)}


@pytest.mark.skipif(shutil.which("stedgeai") is not None, reason="stedgeai is installed here")
def test_missing_stedgeai_names_tool_version_and_source(trained_quickstart, tmp_path):
    with pytest.raises(ToolMissingError) as info:
        stedgeai.find_stedgeai(None)
    message = str(info.value)
    assert "'stedgeai'" in message and "ST Edge AI Core 3.0" in message and "st.com" in message
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "toolchain.cli",
            "generate",
            str(trained_quickstart.int8_path),
            "--out",
            str(tmp_path / "p"),
            "--board",
            "STM32N6",
            "--backend",
            "stedgeai",
        ],
        capture_output=True,
        text=True,
        env=_without("stedgeai"),
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "stedgeai" in proc.stderr and "ST Edge AI Core 3.0" in proc.stderr


@pytest.mark.stedgeai
@pytest.mark.skipif(
    shutil.which("stedgeai") is None,
    reason="ST Edge AI Core (stedgeai) is not installed; it cannot be downloaded here",
)
def test_real_stedgeai_generates_and_reports(trained_quickstart, tmp_path):
    block = stedgeai.generate(trained_quickstart.int8_path, tmp_path, board="qemu-m55")
    assert block["macs"] > 0 and block["weights_bytes"] > 0
