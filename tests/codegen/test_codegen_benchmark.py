"""`benchmark_model`: the footprint block agrees with the generated header and the model."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace as NS

import numpy as np
import pytest

from toolchain.codegen.benchmark import (
    benchmark,
    benchmark_model,
    format_table,
    model_path_of,
    short_name,
)
from toolchain.codegen.emit import generate_network
from toolchain.errors import ConfigError
from toolchain.oracle import Oracle
from toolchain.rundir import RunDir


def test_footprint_of_the_quickstart_model(trained_quickstart, tmp_path):
    int8 = trained_quickstart.int8_path
    block = benchmark_model(int8)  # for a Helium board (the default qemu-m55): scratch planned
    info = generate_network(int8, tmp_path / "net", helium=True)
    header = (tmp_path / "net" / "reid_network.h").read_text()
    define = {k: int(v) for k, v in re.findall(r"#define REID_(\w+) \((\d+)", header)}
    assert block["arena_bytes"] == define["ARENA_SIZE"] == info.arena_size
    assert block["weights_bytes"] == define["WEIGHTS_SIZE"]
    assert block["arena_lower_bound_bytes"] <= block["arena_bytes"]
    assert block["macs"] == sum(layer["macs"] for layer in block["macs_per_layer"]) > 0
    oracle = Oracle(int8)
    io = np.prod(oracle.input_shape) * oracle.input_dtype.itemsize
    io += np.prod(oracle.output_shape) * oracle.output_dtype.itemsize
    assert block["io_bytes"] == io
    assert {layer["op"] for layer in block["macs_per_layer"]} >= {"CONV_2D", "DEPTHWISE_CONV_2D"}
    text = format_table(block)
    assert all(short_name(layer["name"]) in text for layer in block["macs_per_layer"])
    assert f"{block['arena_bytes']:,}" in text and f"{block['weights_bytes']:,}" in text


def _cfg(model_path=None, general_path=None, board="host"):
    return NS(
        model=NS(model_path=model_path),
        general=NS(model_path=general_path),
        benchmarking=NS(board=board),
        deployment=NS(board=None),
    )


def test_benchmark_mode_writes_metrics_and_prints_the_table(trained_quickstart, tmp_path, capsys):
    """`benchmark(cfg, run)`: the model from general.model_path, the host board's firmware
    sections from a real build, the block in metrics.json, the table on stdout."""
    run = RunDir(tmp_path / "run").create()
    block = benchmark(_cfg(general_path=str(trained_quickstart.int8_path)), run)
    assert json.loads(run.metrics_path.read_text())["benchmark"] == json.loads(json.dumps(block))
    firmware = block["firmware"]
    assert firmware["board"] == "host" and firmware["text"] > 0
    out = capsys.readouterr().out
    assert "arena lower bound" in out and f"{block['arena_bytes']:,}" in out
    assert "firmware text (host)" in out


def test_benchmark_names_the_missing_model(tmp_path):
    with pytest.raises(ConfigError, match="set model.model_path"):
        model_path_of(_cfg())
    with pytest.raises(ConfigError, match="model.model_path: .*nope.tflite does not exist"):
        model_path_of(_cfg(model_path=str(tmp_path / "nope.tflite")))
    keras = tmp_path / "m.keras"
    keras.write_bytes(b"x")
    with pytest.raises(ConfigError, match="needs an int8 .tflite model, received m.keras"):
        model_path_of(_cfg(), keras)


def test_benchmark_reports_the_footprint_when_the_firmware_cannot_be_built(
    tmp_path, capsys, caplog
):
    """A 64 KiB output does not fit one reply of the board protocol: the host firmware fails
    to build; the footprint is still written and printed, with a warning naming the cause."""
    from toolchain.codegen.tflite_writer import TensorSpec as T
    from toolchain.codegen.tflite_writer import single_op_model

    shape = (1, 256, 256)
    model = tmp_path / "big_int8.tflite"
    model.write_bytes(
        single_op_model("RELU", [T(shape, "int8", 0.05, 0)], T(shape, "int8", 0.05, -128))
    )
    run = RunDir(tmp_path / "run").create()
    block = benchmark(_cfg(model_path=str(model)), run)
    assert "firmware" not in block
    assert json.loads(run.metrics_path.read_text())["benchmark"]["io_bytes"] == 2 * 65536
    assert "arena lower bound" in capsys.readouterr().out
    assert any("firmware sections not reported" in r.getMessage() for r in caplog.records)
