"""Longer differential fuzzing of the code generator against the oracle.

    .venv/bin/python benchmarks/codegen_fuzz.py [--seconds 600] [--seed N] [--ops CONV_2D ...]

Random single-op int8 models (toolchain/codegen/fuzz.py: odd shapes, scales 1e-4..10, extreme
zero points, multipliers above 1) go through the generated C (host gcc with ASan/UBSan) and the
oracle; any model whose bytes differ, or that the generator refuses while the oracle accepts
it, is saved in tests/codegen/regressions/ and becomes a regression test.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "codegen")]


def main() -> int:
    from codegen_harness import fuzz

    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--ops", nargs="+", default=None, help="op names to draw (default: all)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t = time.monotonic()
        report = fuzz(
            Path(tmp),
            args.seconds,
            seed=args.seed,
            save_dir=ROOT / "tests" / "codegen" / "regressions",
            ops=args.ops,
        )
        elapsed = time.monotonic() - t
    print(
        f"seed {args.seed}: {report['cases']} models in {elapsed:.0f} s "
        f"({report['cases'] / elapsed:.1f}/s), oracle refused {report['oracle_refused']}, "
        f"generator refused {len(report['refused'])}, mismatching rounds {len(report['failures'])}"
    )
    for line in report["refused"][:20] + report["failures"][:20]:
        print(" ", line[:500])
    return 1 if report["refused"] or report["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
