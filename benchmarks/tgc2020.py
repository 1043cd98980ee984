"""The real sports benchmark: TGC2020 trail runners, per model chain_tqeb on this machine,
then the on-device evaluation on the virtual Cortex-M55 (qemu-m55) on a subset of the test set,
written to docs/results.md.

    .venv/bin/python benchmarks/tgc2020.py [--models osnet_a025 mobilenetv2_a035]
                                           [--device-queries 12] [--epochs N]

Host float and int8 figures use the whole test set (83 queries, 456 gallery crops). The virtual
board's UART moves ~13 kB/s (a 256x128x3 crop is 98 kB), so the board evaluates the first
`--device-queries` query runners and all their gallery crops; host int8 is evaluated again on
exactly that subset so the two can be compared (they must agree exactly).
The data stay in ../shared/data/tgc2020-reid (referenced by path, never copied).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TGC2020_DIR", ROOT.parent / "shared" / "data" / "tgc2020-reid"))
REIDTOOL = str(ROOT / ".venv" / "bin" / "reidtool")
OUT = ROOT / "experiments_outputs" / "tgc2020"
#: torchreid (deep-person-reid 1.4) OSNet-x0.25 from scratch on this machine (issue 10).
TORCHREID = {"mAP": 0.081, "rank1": 0.048, "epochs": 38, "minutes": 24}
CHANCE = {"mAP": 0.025, "rank1": 0.013}


def reidtool(*args: str) -> None:
    env = dict(os.environ, TGC2020_DIR=str(DATA))
    print("$ reidtool " + " ".join(args), flush=True)
    subprocess.run([REIDTOOL, *args], check=True, cwd=ROOT, env=env)


def subset(run: Path, queries: int) -> Path:
    """Symlinks to the first `queries` query runners and all their gallery crops."""
    root = run / "device_subset"
    query = sorted((DATA / "reid_test" / "query").glob("*.jpg"))[:queries]
    ids = {p.name.split("_")[0] for p in query}
    gallery = [
        p
        for p in sorted((DATA / "reid_test" / "gallery").glob("*.jpg"))
        if p.name.split("_")[0] in ids
    ]
    for name, files in (("query", query), ("gallery", gallery)):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for f in files:
            link = folder / f.name
            if not link.exists():
                link.symlink_to(f)
    return root


def run_model(name: str, device_queries: int, epochs: int | None) -> dict:
    config = f"configs/tgc2020/{name}.yaml"
    run = OUT / name
    t0 = time.time()
    extra = [f"training.epochs={epochs}"] if epochs else []
    reidtool("run", config, f"hydra.run.dir={run}", f"mlflow.uri={OUT / 'mlruns'}", *extra)
    train_minutes = (time.time() - t0) / 60
    metrics = json.loads((run / "metrics.json").read_text())
    int8 = next((run / "quantized_models").glob("*_int8.tflite"))
    sub = subset(run, device_queries)
    sub_run = run / "device_run"
    common = [
        f"hydra.run.dir={sub_run}",
        f"mlflow.uri={OUT / 'mlruns'}",
        "++model.model_name=null",
        f"++model.model_path={int8}",
        f"dataset.test_query_path={sub / 'query'}",
        f"dataset.test_gallery_path={sub / 'gallery'}",
    ]
    reidtool("evaluate", config, *common)
    reidtool("hil-eval", config, *common, "deployment.board=qemu-m55")
    device = json.loads((sub_run / "metrics.json").read_text())
    import yaml

    used = yaml.safe_load((run / "config.yaml").read_text())["training"]["epochs"]
    return {
        "name": name,
        "metrics": metrics,
        "subset": device,
        "minutes": train_minutes,
        "epochs": used,
    }


def table(results: list[dict], device_queries: int) -> str:
    lines = [
        "# Results: TGC2020 trail-runner re-identification",
        "",
        "Produced by `benchmarks/tgc2020.py` on this project's machine (2 CPU cores, no GPU), from",
        "scratch (no pretrained weights), 256x128 input. Data: `../shared/data/tgc2020-reid`",
        "(reid_train 250 runners / 2 185 images; test 83 queries, 456 gallery crops, cross-location).",
        f"Chance: mAP {CHANCE['mAP']} / rank-1 {CHANCE['rank1']}.",
        "",
        "## Whole test set (host)",
        "",
        "| model | epochs | training + quantization + evaluation (min) | float mAP | float rank-1 | int8 mAP | int8 rank-1 | params | MACs | weights bytes | arena bytes |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        f"| torchreid OSNet-x0.25 (anchor, softmax only) | {TORCHREID['epochs']} | {TORCHREID['minutes']} (training) "
        f"| {TORCHREID['mAP']} | {TORCHREID['rank1']} | - | - | - | - | - | - |",
    ]
    for r in results:
        m = r["metrics"]
        b = m.get("benchmark", {})
        lines.append(
            f"| reidtool {r['name']} | {r['epochs']} | {r['minutes']:.0f} | {m['float']['mAP']:.3f} | "
            f"{m['float']['rank1']:.3f} | {m['int8']['mAP']:.3f} | {m['int8']['rank1']:.3f} | "
            f"{b.get('params', 0):,} | {b.get('macs', 0):,} | {b.get('weights_bytes', 0):,} | "
            f"{b.get('arena_bytes', 0):,} |"
        )
    lines += [
        "",
        f"## On the virtual Cortex-M55 (qemu-m55), first {device_queries} query runners",
        "",
        "The board's UART is too slow for the whole set (see docs/boards.md); host int8 is",
        "evaluated on the same subset. Device and host int8 must agree exactly.",
        "",
        "| model | queries | gallery | int8 host mAP | device mAP | int8 host rank-1 | device rank-1 | exact-match fraction | instructions per inference | crops/s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        s = r["subset"]
        d, h = s["device"], s["int8"]
        lines.append(
            f"| {r['name']} | {d['num_query']} | {d['num_gallery']} | {h['mAP']:.3f} | {d['mAP']:.3f} | "
            f"{h['rank1']:.3f} | {d['rank1']:.3f} | {d['exact_match_fraction']:.3f} | "
            f"{d['inference']['mean']:,.0f} | {d['crops_per_s']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=["osnet_a025", "mobilenetv2_a035"])
    parser.add_argument("--device-queries", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--out", default=str(ROOT / "docs" / "results.md"))
    args = parser.parse_args()
    if not (DATA / "reid_train").is_dir():
        print(f"TGC2020 not found at {DATA} (set TGC2020_DIR)", file=sys.stderr)
        return 2
    results = []
    for name in args.models:
        results.append(run_model(name, args.device_queries, args.epochs))
        Path(args.out).write_text(table(results, args.device_queries))
        print(table(results, args.device_queries), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
