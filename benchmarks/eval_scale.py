"""How long and how much memory `compute_metrics` needs at scale (issue 5's bound).

Default: 20 000 queries × 200 000 gallery embeddings of dimension 256 (float32 input, float64
inside), with cameras, which must fit in 4 GB. Prints wall time, peak resident memory and the
figures. Not a test: run it by hand, it takes minutes on one core.

Usage:
    .venv/bin/python benchmarks/eval_scale.py [--queries 20000 --gallery 200000 --dim 256]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from toolchain.evaluation.metrics import compute_metrics


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=20_000)
    parser.add_argument("--gallery", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--identities", type=int, default=20_000)
    parser.add_argument(
        "--noise",
        type=float,
        default=1.6,
        help="within-identity spread relative to the identity centres",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    centers = rng.standard_normal((args.identities, args.dim), dtype=np.float32)
    gids = rng.integers(0, args.identities, size=args.gallery)
    qids = rng.integers(0, args.identities, size=args.queries)
    noise = np.float32(args.noise)
    gallery = centers[gids] + noise * rng.standard_normal(
        (args.gallery, args.dim), dtype=np.float32
    )
    query = centers[qids] + noise * rng.standard_normal((args.queries, args.dim), dtype=np.float32)
    del centers
    gcams = rng.integers(0, 6, size=args.gallery)
    qcams = rng.integers(0, 6, size=args.queries)
    before = peak_rss_mb()
    print(
        f"inputs ready: {args.queries} x {args.gallery} x {args.dim}, peak RSS {before:.0f} MB",
        flush=True,
    )
    start = time.perf_counter()
    m = compute_metrics(query, qids, gallery, gids, query_cams=qcams, gallery_cams=gcams)
    elapsed = time.perf_counter() - start
    print(
        f"compute_metrics: {elapsed:.1f} s, peak RSS {peak_rss_mb():.0f} MB "
        f"(inputs alone {before:.0f} MB)"
    )
    print(
        f"rank1 {m['rank1']:.4f}  rank5 {m['rank5']:.4f}  mAP {m['mAP']:.4f}  "
        f"mINP {m['mINP']:.4f}  skipped {m['num_query_skipped']}  "
        f"threshold {m['match_threshold']:.4f}"
    )


if __name__ == "__main__":
    main()
