"""Footprint of zoo models through reidtool's code generator at the seed's 256x128 input.

    .venv/bin/python benchmarks/codegen_footprint.py [--models osnet_a025 mobilenetv2_a035 ...]

Prints, per model (default: every zoo family): params, MACs, weights bytes, arena bytes, the
liveness lower bound and their ratio (goal <= 1.05; arena and bound include the Helium kernels'
scratch, planned for the Cortex-M55 targets), the arena of the plain planner measured in
the same run (largest-first best fit, no streaming overlaps, no search: the in-run baseline)
and the ratio to it, beside STM32Cube.AI's published STM32H7 figures for the same models
(osnet_a025: 331 KiB RAM, 140 KiB weights; mobilenetv2_a035: 461 KiB RAM, 401 KiB weights),
the baseline named by issue 7. Models go to --out (reused when already there).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: STM32Cube.AI's published STM32H7 figures (KiB): (RAM, weights).
CUBE_AI = {"osnet_a025": (331, 140), "mobilenetv2_a035": (461, 401)}


def int8_model(name: str, shape: tuple[int, int, int]) -> bytes:
    from toolchain.quantization.quantizer import untrained_int8

    return untrained_int8(name, shape)


def plain_arena(data: bytes) -> int:
    """The arena of the baseline planner: greedy best fit, in-place elementwise ops only."""
    from toolchain.codegen.emit import compile_graph, scratch_buffers
    from toolchain.codegen.planner import graph_buffers, plan_arena

    comp = compile_graph(data, helium=True)
    aliases = {em.op.outputs[0]: em.op.inputs[0] for em in comp.emitters if em.aliases_input()}
    in_place = {
        em.op.outputs[0]: em.in_place_inputs() for em in comp.emitters if em.in_place_inputs()
    }
    buffers, _, _ = graph_buffers(comp.graph, aliases, in_place, {})
    return plan_arena(buffers + scratch_buffers(comp.emitters), search=0).arena_size


#: every family of the zoo at its smallest width (`--models all`: every registered width).
FAMILIES = ["tinynet", "mobilenetv1_a025", "mobilenetv2_a035", "osnet_a025", "resnet50v2"]


def main() -> None:
    from toolchain.codegen.benchmark import benchmark_model
    from toolchain.models import MODELS

    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=FAMILIES, help="names, or 'all'")
    parser.add_argument("--shape", default="256,128,3")
    parser.add_argument("--out", default="/tmp/reidtool_footprint")
    args = parser.parse_args()
    names = args.models
    if names == ["all"]:
        names = [n for n in MODELS.names() if n != "custom_model"]
    shape = tuple(int(v) for v in args.shape.split(","))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(
        "| model | input | params | MACs | weights KiB | arena KiB | lower bound KiB "
        "| arena / bound | plain planner KiB | arena / plain | Cube.AI RAM KiB "
        "| Cube.AI weights KiB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        t = time.time()
        path = out / f"{name}_{shape[0]}x{shape[1]}_int8.tflite"
        if not path.is_file():
            path.write_bytes(int8_model(name, shape))
        b = benchmark_model(path)
        plain = plain_arena(path.read_bytes())
        ram, weights = CUBE_AI.get(name, ("-", "-"))
        print(
            f"| {name} | {shape[0]}x{shape[1]} | {b['params']:,} | {b['macs']:,} "
            f"| {b['weights_bytes'] / 1024:.1f} | {b['arena_bytes'] / 1024:.1f} "
            f"| {b['arena_lower_bound_bytes'] / 1024:.1f} "
            f"| {b['arena_bytes'] / b['arena_lower_bound_bytes']:.3f} "
            f"| {plain / 1024:.1f} | {b['arena_bytes'] / plain:.3f} | {ram} | {weights} |",
            flush=True,
        )
        print(f"  ({time.time() - t:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
