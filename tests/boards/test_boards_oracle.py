"""Acceptance: a real int8 model through the code generator, built for all three boards
(the N6 compile/link only), run on host and qemu-m55, answers equal to the oracle's bit for bit.

Needs the code generator (toolchain.codegen); skipped until it is installed. The model is a
tiny converter-made int8 embedder (conv, depthwise conv, pooling, dense; uint8 in, int8 out).
"""

from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pytest
from boards_testlib import infer_all

pytest.importorskip("toolchain.codegen", reason="the code generator is not installed yet")

from toolchain.boards import get_board  # noqa: E402
from toolchain.boards.build import build_project  # noqa: E402
from toolchain.boards.process import stop_boards  # noqa: E402
from toolchain.boards.project import generate_project  # noqa: E402
from toolchain.oracle import Oracle  # noqa: E402
from toolchain.quantization.quantizer import random_calibrated_int8  # noqa: E402

H, W = 32, 16


@pytest.fixture(scope="module")
def int8_model(tmp_path_factory):
    tf = pytest.importorskip("tensorflow")
    inp = tf.keras.Input((H, W, 3))
    x = tf.keras.layers.Rescaling(1 / 127.5, -1.0)(inp)
    x = tf.keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu6")(x)
    x = tf.keras.layers.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
    x = tf.keras.layers.Conv2D(16, 1, activation="relu6")(x)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    out = tf.keras.layers.Dense(32)(x)
    path = tmp_path_factory.mktemp("model") / "tiny_int8.tflite"
    path.write_bytes(random_calibrated_int8(tf.keras.Model(inp, out)))
    return path


def _inputs(n=3):
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (n, H, W, 3), dtype=np.uint8)


def _run_on_board(model, tmp_path, board_name, xs):
    """Generate, build and start the board for `model`; (INFO, int8 outputs of xs)."""
    project = generate_project(model, tmp_path / board_name, board=board_name)
    build_project(project)
    board = get_board(board_name)
    try:
        url = board.start(project)
        digest = hashlib.sha256(model.read_bytes()).digest()
        info, outputs, _ = infer_all(url, digest, [x.tobytes() for x in xs], timeout=10.0)
    finally:
        board.stop()
        stop_boards(project)
    return info, np.stack([np.frombuffer(o, np.int8) for o in outputs])


def _check_board(model, tmp_path, board_name):
    xs = _inputs()
    _, got = _run_on_board(model, tmp_path, board_name, xs)
    np.testing.assert_array_equal(got, Oracle(model).run(xs).reshape(len(xs), -1))


def test_host_matches_oracle(int8_model, tmp_path):
    _check_board(int8_model, tmp_path, "host")


@pytest.mark.qemu
def test_qemu_m55_matches_oracle(int8_model, tmp_path):
    _check_board(int8_model, tmp_path, "qemu-m55")


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="needs arm-none-eabi-gcc")
def test_stm32n6_compiles_and_links(int8_model, tmp_path):
    project = generate_project(int8_model, tmp_path / "n6", board="STM32N6")
    report = build_project(project)
    assert report.board == "STM32N6570-DK" and report.weights > 0
    assert (project / "firmware.elf").is_file() and (project / "firmware.hex").is_file()


def _wide_output_model(path, out_c=1280):
    """A 1x1 conv from 16 to 1280 channels on one pixel: a 1280-byte output (MobileNetV2's
    embedding width), more than the protocol's default 1024-byte reply."""
    from toolchain.codegen.tflite_writer import TensorSpec as T
    from toolchain.codegen.tflite_writer import single_op_model

    rng = np.random.default_rng(4)
    w = rng.integers(-127, 128, (out_c, 1, 1, 16)).astype(np.int8)
    ws = rng.uniform(0.002, 0.02, out_c)
    ins = [
        T((1, 1, 1, 16), "int8", 0.05, 3),
        T(w.shape, "int8", ws, 0, w, 0),
        T((out_c,), "int32", 0.05 * ws, 0, rng.integers(-900, 900, out_c).astype(np.int32)),
    ]
    opts = {"padding": 1, "stride_w": 1, "stride_h": 1}
    path.write_bytes(single_op_model("CONV_2D", ins, T((1, 1, 1, out_c), "int8", 0.1, -2), opts))
    return path


def test_an_output_above_1024_bytes_comes_back_in_one_reply(tmp_path):
    model = _wide_output_model(tmp_path / "wide.tflite")
    xs = np.random.default_rng(5).integers(-128, 128, (3, 1, 1, 16)).astype(np.int8)
    info, got = _run_on_board(model, tmp_path, "host", xs)
    assert "-DPROTO_MAX_PAYLOAD=1288u" in (tmp_path / "host" / "Makefile").read_text()
    assert info.max_payload == 1288 and info.output_size == 1280
    np.testing.assert_array_equal(got, Oracle(model).run(xs).reshape(3, -1))


def test_an_output_beyond_one_frame_is_refused_naming_the_key(tmp_path):
    from toolchain.codegen.tflite_writer import TensorSpec as T
    from toolchain.codegen.tflite_writer import single_op_model
    from toolchain.errors import BoardError

    w = np.ones((7, 1, 1, 1), np.int8)
    ins = [
        T((1, 100, 100, 1), "int8", 0.05, 0),
        T(w.shape, "int8", [0.01] * 7, 0, w, 0),
        T((7,), "int32", [0.0005] * 7, 0, np.zeros(7, np.int32)),
    ]
    opts = {"padding": 1, "stride_w": 1, "stride_h": 1}
    model = tmp_path / "huge.tflite"  # 70 000 output bytes > 65 527
    model.write_bytes(single_op_model("CONV_2D", ins, T((1, 100, 100, 7), "int8", 0.1, 0), opts))
    with pytest.raises(BoardError, match=r"output \(70000 bytes.*model.embedding_dim"):
        generate_project(model, tmp_path / "host", board="host")
