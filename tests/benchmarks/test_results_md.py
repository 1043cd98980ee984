"""benchmarks/results_md.py: each script rewrites only its own block of docs/results.md."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from results_md import markers, write_block  # noqa: E402


def test_two_scripts_blocks_live_side_by_side(tmp_path):
    out = tmp_path / "results.md"
    out.write_text("# Results\n\nhand-written\n")
    write_block(out, "tgc2020.py", "tgc v1\n")
    write_block(out, "m55_kernels.py", "m55 v1\n")
    write_block(out, "tgc2020.py", "tgc v2\n")
    text = out.read_text()
    tgc, m55 = markers("tgc2020.py"), markers("m55_kernels.py")
    assert text == (
        f"# Results\n\nhand-written\n\n{tgc[0]}\ntgc v2\n{tgc[1]}\n\n{m55[0]}\nm55 v1\n{m55[1]}\n"
    )
    write_block(out, "m55_kernels.py", "m55 v2\n")
    assert "m55 v1" not in out.read_text() and out.read_text().count(m55[0]) == 1
