"""Differential fuzzing of the code generator (time-boxed here; longer runs:
benchmarks/codegen_fuzz.py) and the regression cases earlier fuzzing found."""

from __future__ import annotations

from pathlib import Path

from codegen_harness import Case, check_cases, fuzz

REGRESSIONS = Path(__file__).parent / "regressions"
SECONDS = 45


def test_random_single_op_models_match_the_oracle(tmp_path):
    report = fuzz(tmp_path / "work", SECONDS, seed=20261129, save_dir=tmp_path / "found")
    assert report["cases"] >= 100
    assert not report["refused"], "\n".join(report["refused"][:10])
    assert not report["failures"], (
        f"saved in {tmp_path / 'found'} (copy them to {REGRESSIONS}):\n"
        + "\n".join(report["failures"])
    )


def test_regression_cases(tmp_path):
    """Models a fuzzing run once found to differ (e.g. FULLY_CONNECTED's per-tensor multiplier,
    which the oracle computes from a float32 product of the scales)."""
    cases = [Case(p.read_bytes(), label=p.name) for p in sorted(REGRESSIONS.glob("*.tflite"))]
    assert cases
    check_cases(tmp_path, cases, n=8)
