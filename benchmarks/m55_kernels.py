"""Instructions per inference and per MAC on the virtual Cortex-M55 (qemu-m55, QEMU
`-icount shift=0`: deterministic), the Helium (MVE) kernels against the portable reference
kernels (the baseline: the same sources built with -DREID_REFERENCE_KERNELS), in the same run.

    .venv/bin/python benchmarks/m55_kernels.py        # single layers + quickstart tinynet 64x32
    .venv/bin/python benchmarks/m55_kernels.py --zoo  # + mobilenetv2_a035, osnet_a025 256x128
    .venv/bin/python benchmarks/m55_kernels.py --models A.tflite B.tflite
    ... --mve-share  # + the Helium share of the MVE build's instructions (QEMU block trace)
    ... --no-layers  # networks only; --layers: per-layer tables of the networks
    ... --out docs/results.md  # also write the tables into the file's own marked block

Each network runs in a test image (tests/kernels_m55/m55_harness.py: the qemu-m55 board
support rendered from firmware_templates, the generated network, a main that times each layer
with the board's instruction counter); both builds must give the oracle's output bytes
(checked). Printed per model: whole-network instructions and instructions per MAC, reference
vs MVE, and their ratio, then the same per op type (--layers: per layer). docs/m55_kernels.md
holds the figures of `--zoo --mve-share` (about 2 minutes). Instruction counts
are not cycles: a Cortex-M55 executes most 128-bit MVE instructions in two beats.
The zoo models are written by benchmarks/codegen_footprint.py to /tmp/reidtool_footprint/
(built here the same way when missing).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "kernels_m55"), str(ROOT / "benchmarks")]

from results_md import write_block  # noqa: E402

FOOTPRINT_DIR = Path("/tmp/reidtool_footprint")


def layer_models() -> list[tuple[str, bytes]]:
    """Single layers shaped like the zoo's hot layers at 256x128 (MobileNetV2-0.35, OSNet-0.25)."""
    from toolchain.codegen.tflite_writer import TensorSpec as T
    from toolchain.codegen.tflite_writer import single_op_model

    rng = np.random.default_rng(0)

    def conv(label, in_shape, out_c, k, stride, in_q=(0.02, -128), out_q=(0.05, -10)):
        w = rng.integers(-127, 128, (out_c, k, k, in_shape[3])).astype(np.int8)
        ws = rng.uniform(0.002, 0.02, out_c)
        h, w_ = -(-in_shape[1] // stride), -(-in_shape[2] // stride)
        bias = rng.integers(-2000, 2000, out_c).astype(np.int32)
        ins = [
            T(in_shape, "int8", *in_q),
            T(w.shape, "int8", ws, 0, w, 0),
            T((out_c,), "int32", in_q[0] * ws, 0, bias),
        ]
        opts = {"padding": 0, "stride_w": stride, "stride_h": stride, "activation": 3}
        out = T((1, h, w_, out_c), "int8", *out_q)
        return label, single_op_model("CONV_2D", ins, out, opts)

    def dw(label, in_shape, k, stride, in_q=(0.02, -128), out_q=(0.05, -10)):
        c = in_shape[3]
        w = rng.integers(-127, 128, (1, k, k, c)).astype(np.int8)
        ws = rng.uniform(0.002, 0.02, c)
        h, w_ = -(-in_shape[1] // stride), -(-in_shape[2] // stride)
        bias = rng.integers(-2000, 2000, c).astype(np.int32)
        ins = [
            T(in_shape, "int8", *in_q),
            T(w.shape, "int8", ws, 0, w, 3),
            T((c,), "int32", in_q[0] * ws, 0, bias),
        ]
        opts = {
            "padding": 0,
            "stride_w": stride,
            "stride_h": stride,
            "activation": 3,
            "depth_multiplier": 1,
        }
        return label, single_op_model(
            "DEPTHWISE_CONV_2D", ins, T((1, h, w_, c), "int8", *out_q), opts
        )

    return [
        conv("conv 3x3 s2 3->16 @256x128 (mnv2 stem)", (1, 256, 128, 3), 16, 3, 2),
        conv("conv 7x7 s2 3->16 @256x128 (osnet stem)", (1, 256, 128, 3), 16, 7, 2),
        conv("conv 1x1 8->48 @64x32 (mnv2 expand)", (1, 64, 32, 8), 48, 1, 1),
        conv("conv 1x1 48->8 @64x32 (mnv2 project)", (1, 64, 32, 48), 8, 1, 1),
        conv("conv 1x1 64->64 @64x32", (1, 64, 32, 64), 64, 1, 1),
        conv("conv 1x1 112->1280 @8x4 (mnv2 head)", (1, 8, 4, 112), 1280, 1, 1),
        dw("depthwise 3x3 48 ch @64x32", (1, 64, 32, 48), 3, 1),
        dw("depthwise 3x3 s2 96 ch @64x32", (1, 64, 32, 96), 3, 2),
    ]


def zoo_models() -> list[tuple[str, bytes]]:
    from codegen_footprint import int8_model

    out = []
    for name in ("mobilenetv2_a035", "osnet_a025"):
        path = FOOTPRINT_DIR / f"{name}_256x128_int8.tflite"
        if not path.is_file():
            FOOTPRINT_DIR.mkdir(parents=True, exist_ok=True)
            path.write_bytes(int8_model(name, (256, 128, 3)))
        out.append((f"{name} 256x128", path.read_bytes()))
    return out


def measure(
    models: list[tuple[str, bytes]], work: Path, profile: bool, share: bool = False
) -> list[dict]:
    """Build and run all models in one image per kernel set; returns per-model figures.
    `share`: also count the MVE instructions of each MVE run (QEMU block trace)."""
    from m55_harness import REFERENCE, build_m55_image, mve_instruction_share, run_m55_image

    from toolchain.codegen.emit import compile_graph
    from toolchain.oracle import Oracle

    rng = np.random.default_rng(0)
    inputs, expected = [], []
    for _, model in models:
        oracle = Oracle(model)
        info = np.iinfo(oracle.input_dtype)
        x = rng.integers(info.min, info.max + 1, (1, *oracle.input_shape)).astype(
            oracle.input_dtype
        )
        inputs.append(x)
        expected.append(oracle.invoke(x[0]).tobytes())
    runs = {}
    for kind, flags in (("reference", REFERENCE), ("mve", "")):
        elf = build_m55_image(
            work / kind, [m for _, m in models], inputs, extra_cflags=flags, profile=profile
        )
        runs[kind] = run_m55_image(elf, len(models), timeout=3600)
    shares = [None] * len(models)
    if share:  # a build without the profile hooks: they would end the counted window
        elf = build_m55_image(work / "share", [m for _, m in models], inputs)
        shares = mve_instruction_share(elf, len(models))
    rows = []
    for k, (label, model) in enumerate(models):
        for kind in runs:
            if runs[kind].outputs[k] != [expected[k]]:
                raise SystemExit(f"{label}: the {kind} kernels' output differs from the oracle")
        comp = compile_graph(model)
        layers = [(em.op.name, em.macs()) for em in comp.emitters]
        rows.append(
            {
                "label": label,
                "macs": sum(m for _, m in layers),
                "layers": layers,
                "reference": runs["reference"].counts[k][0],
                "mve": runs["mve"].counts[k][0],
                "reference_layers": runs["reference"].layers[k],
                "mve_layers": runs["mve"].layers[k],
                "share": shares[k],
            }
        )
    return rows


def format_rows(rows: list[dict], by_op: bool, by_layer: bool) -> str:
    """The markdown tables of `measure`'s rows: one line per model, then (by_op / by_layer)
    one table per model with its op types or layers."""
    out = [
        "| network | MACs | reference instructions | MVE instructions | ratio "
        "| reference instr/MAC | MVE instr/MAC | Helium share of the MVE build's instructions |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        share = f"{100 * r['share'][0] / r['share'][1]:.0f} %" if r["share"] else "-"
        out.append(
            f"| {r['label']} | {r['macs']:,} | {r['reference']:,} | {r['mve']:,} "
            f"| {r['reference'] / r['mve']:.1f} | {r['reference'] / max(r['macs'], 1):.2f} "
            f"| {r['mve'] / max(r['macs'], 1):.3f} | {share} |"
        )
    for r in rows:
        if not (by_op or by_layer) or not r["mve_layers"]:
            continue
        out += [
            "",
            f"{r['label']}: per {'layer' if by_layer else 'op type'}",
            "",
            "| op | MACs | reference instructions | MVE instructions | ratio "
            "| reference instr/MAC | MVE instr/MAC | share of the MVE build's instructions |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        groups: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for i, ((op, macs), ref, mve) in enumerate(
            zip(r["layers"], r["reference_layers"], r["mve_layers"], strict=True)
        ):
            key = f"{i} {op}" if by_layer else op
            g = groups[key]
            g[0] += macs
            g[1] += ref
            g[2] += mve
        total = sum(g[2] for g in groups.values())
        for key, (macs, ref, mve) in groups.items():
            per = _per_mac(macs)
            out.append(
                f"| {key} | {macs:,} | {ref:,} | {mve:,} | {ref / max(mve, 1):.1f} | {per(ref)} "
                f"| {per(mve)} | {100 * mve / total:.1f} % |"
            )
    return "\n".join(out) + "\n"


RESULTS_INTRO = """## Cortex-M55 kernels: instructions per inference

Written by `.venv/bin/python benchmarks/m55_kernels.py --zoo --mve-share --out docs/results.md`:
each network once on qemu-m55 (QEMU `-icount shift=0`, deterministic), the Helium kernels
against the portable reference kernels (`-DREID_REFERENCE_KERNELS`, the baseline) in the same
run, both checked byte for byte against the oracle; untrained weights, random inputs. MACs as
the code generator counts them (convolution MACs plus one per element of the other ops).
Instruction counts, not cycles (a Cortex-M55 executes most 128-bit MVE instructions in two
beats). How the kernels work and what is left: docs/m55_kernels.md.
"""


def _per_mac(macs: int):
    return lambda n: f"{n / macs:.3f}" if macs else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="*", default=[], help="int8 .tflite files")
    parser.add_argument(
        "--zoo", action="store_true", help="mobilenetv2_a035, osnet_a025 at 256x128"
    )
    parser.add_argument("--no-layers", action="store_true", help="skip the single-layer table")
    parser.add_argument("--layers", action="store_true", help="per-layer tables of the networks")
    parser.add_argument(
        "--mve-share", action="store_true", help="count Helium instructions (QEMU block trace)"
    )
    parser.add_argument("--out", help="also write the tables into this file's own block")
    args = parser.parse_args()
    from codegen_footprint import int8_model

    sections = []
    with tempfile.TemporaryDirectory(prefix="m55-kernels-") as tmp:
        nets = [("quickstart tinynet 64x32", int8_model("tinynet", (64, 32, 3)))]
        nets += [(Path(p).name, Path(p).read_bytes()) for p in args.models]
        if args.zoo:
            nets += zoo_models()
        rows = measure(nets, Path(tmp) / "nets", True, args.mve_share)
        sections.append(
            ("Whole networks (one inference each)", format_rows(rows, True, args.layers))
        )
        print(f"{sections[-1][0]}\n\n{sections[-1][1]}", flush=True)
        if not args.no_layers:
            rows = measure(layer_models(), Path(tmp) / "layers", False, args.mve_share)
            sections.append(
                ("Single layers shaped like the zoo's", format_rows(rows, False, False))
            )
            print(f"\n{sections[-1][0]}\n\n{sections[-1][1]}", flush=True)
    if args.out:
        text = RESULTS_INTRO + "".join(f"\n### {title}\n\n{table}" for title, table in sections)
        write_block(Path(args.out), "m55_kernels.py", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
