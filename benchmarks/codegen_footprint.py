"""Footprint of zoo models through reidtool's code generator at the seed's 256x128 input.

    .venv/bin/python benchmarks/codegen_footprint.py [--models osnet_a025 mobilenetv2_a035]

Prints, per model: params, MACs, weights bytes, arena bytes, the liveness lower bound and
their ratio (goal <= 1.05), beside STM32Cube.AI's published STM32H7 figures for the same
models (osnet_a025: 331 KiB RAM, 140 KiB weights; mobilenetv2_a035: 461 KiB RAM, 401 KiB
weights) — the baseline named by issue 7.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from types import SimpleNamespace as NS

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: STM32Cube.AI's published STM32H7 figures (KiB): (RAM, weights).
CUBE_AI = {"osnet_a025": (331, 140), "mobilenetv2_a035": (461, 401)}


def int8_model(name: str, shape: tuple[int, int, int]) -> bytes:
    from toolchain.models.embedder import build_training_model
    from toolchain.models.export import export_embedder
    from toolchain.quantization.calibration import representative_dataset
    from toolchain.quantization.quantizer import convert, make_converter

    cfg = NS(model_name=name, model_path=None, pretrained=False, input_shape=shape,
             embedding_dim=None, bnneck=False, pretrained_weights=None)
    embedder = export_embedder(build_training_model(cfg, shape, 10))
    crops = np.random.default_rng(0).integers(0, 256, size=(8, *shape), dtype=np.uint8)
    return convert(make_converter(embedder, representative_dataset(crops), "uint8", "int8"))


def main() -> None:
    from toolchain.codegen.benchmark import benchmark_model

    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=["osnet_a025", "mobilenetv2_a035"])
    parser.add_argument("--shape", default="256,128,3")
    parser.add_argument("--out", default="/tmp/reidtool_footprint")
    args = parser.parse_args()
    shape = tuple(int(v) for v in args.shape.split(","))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"| model | input | params | MACs | weights KiB | arena KiB | lower bound KiB | arena / bound "
          f"| Cube.AI RAM KiB | Cube.AI weights KiB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in args.models:
        t = time.time()
        path = out / f"{name}_{shape[0]}x{shape[1]}_int8.tflite"
        path.write_bytes(int8_model(name, shape))
        b = benchmark_model(path)
        ram, weights = CUBE_AI.get(name, ("-", "-"))
        print(f"| {name} | {shape[0]}x{shape[1]} | {b['params']:,} | {b['macs']:,} "
              f"| {b['weights_bytes'] / 1024:.1f} | {b['arena_bytes'] / 1024:.1f} "
              f"| {b['arena_lower_bound_bytes'] / 1024:.1f} "
              f"| {b['arena_bytes'] / b['arena_lower_bound_bytes']:.3f} | {ram} | {weights} |",
              flush=True)
        print(f"  ({time.time() - t:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
