"""`benchmark_model`: the footprint block agrees with the generated header and the model."""

from __future__ import annotations

import re

import numpy as np

from toolchain.codegen.benchmark import benchmark_model, format_table
from toolchain.codegen.emit import generate_network
from toolchain.oracle import Oracle


def test_footprint_of_the_quickstart_model(trained_quickstart, tmp_path):
    int8 = trained_quickstart.int8_path
    block = benchmark_model(int8)
    info = generate_network(int8, tmp_path / "net")
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
    assert format_table(block).row_count == len(block["macs_per_layer"]) + 6
