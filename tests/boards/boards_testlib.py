"""Helpers for the board tests: a stand-in network with the generated network's C interface,
written into a project folder, so the boards, templates, Makefile and the real application
(firmware_templates/app) are tested before and independently of the code generator.

The stand-in is checkable from Python: out[j] = (int8)(weights[j] + sum_i in[i] * ((i+j)%5+1)),
with 64 weight bytes placed by `reid_weights.S` in section `.reid_weights` (QSPI on qemu-m55),
so a wrong weights placement or load shows up as wrong answers.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

H, W, C, OUT = 16, 8, 3, 64
WEIGHTS = bytes((7 * k + 3) % 256 for k in range(OUT))

HEADER = """/* Test stand-in for a generated reid_network.h (docs/architecture.md). */
#ifndef REID_NETWORK_H
#define REID_NETWORK_H
#include <stdint.h>
#define REID_NUM_LAYERS 2
#define REID_ARENA_SIZE ({out} * 4)
#define REID_WEIGHTS_SIZE {out}
#define REID_MACS {macs}
#define REID_INPUT_H {h}
#define REID_INPUT_W {w}
#define REID_INPUT_C {c}
#define REID_INPUT_SIZE ({h} * {w} * {c})
#define REID_INPUT_TYPE 1
#define REID_INPUT_SCALE 1.0f
#define REID_INPUT_ZERO_POINT 0
#define REID_OUTPUT_SIZE {out}
#define REID_OUTPUT_TYPE 0
#define REID_OUTPUT_SCALE 0.0078125f
#define REID_OUTPUT_ZERO_POINT 0
typedef struct {{ const char *name; const char *op; uint32_t macs; }} reid_layer_t;
extern const uint8_t reid_model_hash[32];
extern const reid_layer_t reid_layers[];
int reid_network_run(const void *in, void *out, uint8_t *arena);
#ifdef REID_PROFILING
void reid_profile_begin(int layer);
void reid_profile_end(int layer);
#endif
#endif
"""

SOURCE = """/* Test stand-in for a generated reid_network.c. */
#include "reid_network.h"
extern const uint8_t reid_weights[];
const uint8_t reid_model_hash[32] = {{ {hash} }};
const reid_layer_t reid_layers[] = {{ {{"sum", "TEST", {macs}u}}, {{"bias", "TEST", 0u}} }};
int reid_network_run(const void *in, void *out, uint8_t *arena)
{{
    const uint8_t *x = (const uint8_t *)in;
    int8_t *y = (int8_t *)out;
    uint32_t *acc = (uint32_t *)(void *)arena;
#ifdef REID_PROFILING
    reid_profile_begin(0);
#endif
    for (uint32_t j = 0; j < REID_OUTPUT_SIZE; j++) {{
        acc[j] = 0u;
        for (uint32_t i = 0; i < REID_INPUT_SIZE; i++)
            acc[j] += (uint32_t)x[i] * ((i + j) % 5u + 1u);
    }}
#ifdef REID_PROFILING
    reid_profile_end(0);
    reid_profile_begin(1);
#endif
    for (uint32_t j = 0; j < REID_OUTPUT_SIZE; j++)
        y[j] = (int8_t)(uint8_t)((acc[j] + reid_weights[j]) & 0xFFu);
#ifdef REID_PROFILING
    reid_profile_end(1);
#endif
    return 0;
}}
"""

WEIGHTS_S = """/* Test stand-in for a generated reid_weights.S. */
    .section .reid_weights, "a"
    .balign 16
    .global reid_weights
reid_weights:
    .incbin "reid_weights.bin"
"""


def write_standin_network(
    out: Path, model_bytes: bytes = b"reidtool-test-model", h: int = H, w: int = W, n_out: int = OUT
) -> bytes:
    """Write model.tflite (any bytes) and the stand-in network files; returns the model hash.
    `h`, `w`, `n_out` change the tensor sizes (benchmarks); the tests use the defaults."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.tflite").write_bytes(model_bytes)
    digest = hashlib.sha256(model_bytes).digest()
    macs = h * w * C * n_out
    (out / "reid_network.h").write_text(HEADER.format(h=h, w=w, c=C, out=n_out, macs=macs))
    (out / "reid_network.c").write_text(
        SOURCE.format(hash=", ".join(f"0x{b:02x}" for b in digest), macs=macs)
    )
    (out / "reid_weights.bin").write_bytes(bytes((7 * k + 3) % 256 for k in range(n_out)))
    (out / "reid_weights.S").write_text(WEIGHTS_S)
    return digest


def standin_network(x: np.ndarray) -> bytes:
    """What the stand-in network answers for input bytes `x`."""
    x = np.asarray(x, np.int64).reshape(-1)
    i = np.arange(x.size)
    out = []
    for j in range(OUT):
        acc = int((x * ((i + j) % 5 + 1)).sum()) & 0xFFFFFFFF
        out.append((acc + WEIGHTS[j]) & 0xFF)
    return bytes(out)


def standin_network_info() -> dict:
    """The facts a NetworkInfo would carry for the stand-in."""
    return {
        "input_shape": [1, H, W, C],
        "input_dtype": "uint8",
        "output_shape": [1, OUT],
        "output_dtype": "int8",
        "arena_size": 256,
        "weights_size": OUT,
    }


def make_project(out: Path, board: str) -> Path:
    """A rendered (not yet built) project for `board` around the stand-in network."""
    from toolchain.boards.project import render_project

    digest = write_standin_network(out)
    render_project(
        out, board=board, network=standin_network_info(), digest=digest.hex(), command="pytest"
    )
    return out


def infer_all(url: str, model_hash: bytes, inputs: list[bytes], timeout: float = 5.0):
    """Connect with the real host session and run every input; returns (info, outputs, counts)."""
    from host.session import BoardSession
    from host.transport import open_transport

    with open_transport(url) as link:
        session = BoardSession(link, expected_hash=model_hash, timeout=timeout)
        info = session.connect()
        outputs, counts = [], []
        for data in inputs:
            out, count = session.infer(data)
            outputs.append(out)
            counts.append(count)
    return info, outputs, counts


def random_inputs(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (H, W, C), dtype=np.uint8) for _ in range(n)]
