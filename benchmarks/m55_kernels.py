"""Instructions per inference and per MAC on the virtual Cortex-M55 (qemu-m55, `-icount
shift=0`: deterministic), the Helium (MVE) kernels against the portable reference kernels
(the baseline, built from the same project with -DREID_REFERENCE_KERNELS), same run.

    .venv/bin/python benchmarks/m55_kernels.py MODEL.tflite [MODEL.tflite ...] [--layers]

Both builds must give the same output bytes (checked, and checked against the oracle).
Instruction counts are not cycles: a Cortex-M55 executes most 128-bit MVE instructions in two
beats. Models at 256x128: `benchmarks/codegen_footprint.py` writes them to
/tmp/reidtool_footprint/.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def run_build(project: Path, extra: str) -> tuple[bytes, int, list[int]]:
    from host.device_eval import model_hash
    from host.session import BoardSession
    from host.transport import open_transport
    from toolchain.boards import get_board
    from toolchain.oracle import Oracle

    subprocess.run(["make", "-C", str(project), "-s", "clean"], check=False, capture_output=True)
    proc = subprocess.run(["make", "-C", str(project), "-s", f"EXTRA_CFLAGS=-DREID_PROFILING {extra}"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"build failed ({extra or 'MVE'}):\n{proc.stderr[-3000:]}")
    oracle = Oracle(project / "model.tflite")
    x = np.random.default_rng(0).integers(0, 256, oracle.input_shape, dtype=np.uint8)
    x = x.astype(oracle.input_dtype)
    board = get_board("qemu-m55")
    url = board.start(project)
    try:
        with open_transport(url) as link:
            session = BoardSession(link, expected_hash=model_hash(project / "model.tflite"), timeout=600)
            session.connect()
            out, count = session.infer(x.tobytes())
            layers = session.profile(x.tobytes())
    finally:
        board.stop()
    if out != oracle.invoke(x).tobytes():
        raise SystemExit(f"{project}: board output differs from the oracle ({extra or 'MVE'})")
    return out, count, layers


def main() -> int:
    from toolchain.boards.project import generate_project
    from toolchain.codegen.benchmark import benchmark_model

    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="+")
    parser.add_argument("--layers", action="store_true", help="per-layer table too")
    args = parser.parse_args()
    print("| model | MACs | reference instructions | MVE instructions | ratio | reference instr/MAC | MVE instr/MAC |")
    print("|---|---|---|---|---|---|---|")
    for model in args.models:
        block = benchmark_model(model)
        with tempfile.TemporaryDirectory() as tmp:
            project = generate_project(model, Path(tmp) / "fw", board="qemu-m55")
            out_ref, ref, ref_layers = run_build(project, "-DREID_REFERENCE_KERNELS")
            out_mve, mve, mve_layers = run_build(project, "")
        assert out_ref == out_mve, "MVE and reference kernels differ"
        macs = block["macs"]
        print(f"| {Path(model).name} | {macs:,} | {ref:,} | {mve:,} | {ref / mve:.2f} | "
              f"{ref / macs:.2f} | {mve / macs:.2f} |", flush=True)
        if args.layers:
            for layer, r, m in zip(block["macs_per_layer"], ref_layers, mve_layers):
                print(f"|   {layer['op']} {layer['name'][:40]} | {layer['macs']:,} | {r:,} | {m:,} | "
                      f"{r / max(m, 1):.2f} | {r / max(layer['macs'], 1):.2f} | {m / max(layer['macs'], 1):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
