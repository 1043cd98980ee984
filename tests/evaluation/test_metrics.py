"""compute_metrics against a brute-force reference written here, on random embeddings with
duplicates, ties, cameras and queries without matches."""

from __future__ import annotations

import math

import numpy as np
import pytest

from toolchain.errors import EvaluationError
from toolchain.evaluation.metrics import best_threshold, compute_metrics, match_threshold


def brute_force(q, qids, g, gids, metric="cosine", qcams=None, gcams=None):
    """Plain-Python Market-1501 protocol: per query, sort by (distance, gallery index)."""

    def norm(v):
        n = math.sqrt(sum(float(x) * float(x) for x in v))
        return [float(x) / n if n else 0.0 for x in v]

    qn = [norm(v) for v in q]
    gn = [norm(v) for v in g]
    ng = len(gn)
    first_hits, aps, inps = [], [], []
    skipped = 0
    for i, qv in enumerate(qn):
        items = []
        for j, gv in enumerate(gn):
            dot = sum(a * b for a, b in zip(qv, gv, strict=True))
            d = 1.0 - dot if metric == "cosine" else math.sqrt(max(2.0 - 2.0 * dot, 0.0))
            if qcams is not None and gids[j] == qids[i] and gcams[j] == qcams[i]:
                continue  # junk: same identity, same camera
            items.append((d, j))
        items.sort()  # ties: lower gallery index first
        matches = [gids[j] == qids[i] for _, j in items]
        if not any(matches):
            skipped += 1
            continue
        hits = [k for k, m in enumerate(matches) if m]
        first_hits.append(hits[0])
        aps.append(sum((n + 1) / (k + 1) for n, k in enumerate(hits)) / len(hits))
        inps.append(len(hits) / (hits[-1] + 1))
    nv = len(first_hits)
    cmc = [sum(1 for h in first_hits if h <= r) / nv for r in range(ng)]
    return dict(cmc=cmc, mAP=sum(aps) / nv, mINP=sum(inps) / nv, skipped=skipped)


def _sparse_unit(rng, n, dim):
    """Rows with four entries of ±0.5 and zeros elsewhere: unit norm exactly, so every dot
    product is a multiple of 0.25 and equal distances are exactly equal in any summation order
    (real ties, not rounding noise)."""
    out = np.zeros((n, dim))
    for row in out:
        idx = rng.choice(dim, size=4, replace=False)
        row[idx] = rng.choice([-0.5, 0.5], size=4)
    return out


def _random_case(seed, nq=23, ng=57, dim=8, n_ids=9, cams=True):
    rng = np.random.default_rng(seed)
    g = _sparse_unit(rng, ng, dim)
    g[5] = g[2]  # exact duplicate gallery rows: a guaranteed tie
    g[11] = g[2] * 3.0  # same direction, different norm: a tie after normalisation
    gids = rng.integers(0, n_ids, size=ng)
    qids = rng.integers(0, n_ids + 2, size=nq)  # ids n_ids, n_ids+1 have no gallery match
    q = _sparse_unit(rng, nq, dim)
    q[0] = g[2]  # a query equal to tied gallery rows
    qcams = rng.integers(0, 3, size=nq) if cams else None
    gcams = rng.integers(0, 3, size=ng) if cams else None
    return q, qids, g, gids, qcams, gcams


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("cams", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_brute_force(metric, cams, seed):
    q, qids, g, gids, qcams, gcams = _random_case(seed, cams=cams)
    ref = brute_force(q, qids, g, gids, metric, qcams, gcams)
    for use_fast in (True, False):
        m = compute_metrics(
            q,
            qids,
            g,
            gids,
            metric=metric,
            query_cams=qcams,
            gallery_cams=gcams,
            use_fast=use_fast,
            chunk_size=4,
        )
        assert m["num_query"] == len(q) and m["num_gallery"] == len(g)
        assert m["num_query_skipped"] == ref["skipped"]
        assert ref["skipped"] > 0  # the case includes queries without a match
        np.testing.assert_allclose(m["cmc"], ref["cmc"], rtol=0, atol=1e-12)
        assert m["mAP"] == pytest.approx(ref["mAP"], abs=1e-12)
        assert m["mINP"] == pytest.approx(ref["mINP"], abs=1e-12)
        assert m["rank1"] == pytest.approx(ref["cmc"][0], abs=1e-12)
        assert m["rank5"] == pytest.approx(ref["cmc"][4], abs=1e-12)
        assert m["rank10"] == pytest.approx(ref["cmc"][9], abs=1e-12)


def test_fast_and_reference_agree_exactly_on_larger_set():
    rng = np.random.default_rng(7)
    ids = rng.integers(0, 40, size=600)
    centers = rng.normal(size=(40, 32))
    emb = centers[ids] + 0.8 * rng.normal(size=(600, 32))
    cams = rng.integers(0, 4, size=600)
    q, g = emb[:150], emb[150:]
    args = (q, ids[:150], g, ids[150:])
    fast = compute_metrics(*args, query_cams=cams[:150], gallery_cams=cams[150:], use_fast=True)
    ref = compute_metrics(
        *args, query_cams=cams[:150], gallery_cams=cams[150:], use_fast=False, chunk_size=7
    )
    assert fast == ref
    assert 0.0 < fast["mAP"] < 1.0 and 0.0 < fast["rank1"] <= 1.0


def test_chunking_and_dtype_do_not_change_results():
    rng = np.random.default_rng(3)
    q = rng.integers(-128, 128, size=(30, 16)).astype(np.int8)
    g = rng.integers(-128, 128, size=(80, 16)).astype(np.int8)
    qids, gids = rng.integers(0, 10, 30), rng.integers(0, 10, 80)
    a = compute_metrics(q, qids, g, gids, chunk_size=1)
    b = compute_metrics(q.astype(np.float32), qids, g.astype(np.float64), gids, chunk_size=64)
    c = compute_metrics(q, qids, g, gids, chunk_size=7, use_fast=False)
    # BLAS may round the last bit of a dot product differently for different chunk shapes;
    # the ranking figures are identical, the threshold agrees to float64 precision.
    thresholds = [m.pop("match_threshold") for m in (a, b, c)]
    assert a == b == c
    assert thresholds == pytest.approx([thresholds[0]] * 3, abs=1e-12)


def test_ties_are_broken_by_gallery_order():
    # Two gallery items at the same distance from the query: the earlier one ranks first.
    q = np.array([[1.0, 0.0]])
    g = np.array([[0.0, 1.0], [0.0, -1.0]])
    assert compute_metrics(q, [7], g, [7, 3])["rank1"] == 1.0
    assert compute_metrics(q, [7], g, [3, 7])["rank1"] == 0.0
    assert compute_metrics(q, [7], g, [3, 7])["mAP"] == 0.5


def test_same_camera_matches_are_removed():
    q = np.array([[1.0, 0.0]])
    g = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    m = compute_metrics(q, [1], g, [1, 2, 1], query_cams=[0], gallery_cams=[0, 1, 1])
    # gallery 0 is junk (same id, same cam); the true match then ranks 2nd of the 2 kept.
    assert m["rank1"] == 0.0 and m["cmc"][1] == 1.0 and m["mAP"] == 0.5
    only_junk = compute_metrics(
        np.vstack([q, q]), [1, 2], g[:2], [1, 2], query_cams=[0, 0], gallery_cams=[0, 1]
    )
    assert only_junk["num_query_skipped"] == 1


def test_errors_name_the_argument():
    q = np.zeros((3, 4)) + 1
    with pytest.raises(EvaluationError, match="gallery_ids"):
        compute_metrics(q, [0, 1, 2], q, [0, 1])
    with pytest.raises(EvaluationError, match="D=4.*D=5"):
        compute_metrics(q, [0, 1, 2], np.ones((3, 5)), [0, 1, 2])
    with pytest.raises(EvaluationError, match="no query has a matching"):
        compute_metrics(q, [0, 1, 2], q, [5, 6, 7])
    with pytest.raises(EvaluationError, match="query_cams"):
        compute_metrics(q, [0, 1, 2], q, [0, 1, 2], query_cams=[0, 0, 0])
    with pytest.raises(Exception, match="Valid: cosine, euclidean"):
        compute_metrics(q, [0, 1, 2], q, [0, 1, 2], metric="manhattan")


def test_match_threshold_separates_identities():
    same = np.array([0.1, 0.2, 0.3])
    diff = np.array([0.5, 0.6, 0.9, 1.2])
    t = best_threshold(same, diff)
    assert 0.3 < t < 0.5
    # On separable embeddings every same pair lies below the threshold and every other above.
    rng = np.random.default_rng(1)
    centers = rng.normal(size=(5, 16)) * 10
    ids = np.repeat(np.arange(5), 6)
    emb = centers[ids] + 0.01 * rng.normal(size=(30, 16))
    thr = match_threshold(emb[::2], ids[::2], emb[1::2], ids[1::2])
    m = compute_metrics(emb[::2], ids[::2], emb[1::2], ids[1::2])
    assert m["match_threshold"] == thr
    from toolchain.evaluation.metrics import distance_matrix

    d = distance_matrix(emb[::2], emb[1::2])
    same_mask = ids[::2][:, None] == ids[1::2][None, :]
    assert d[same_mask].max() <= thr < d[~same_mask].min()


def test_fast_path_sorting_fallback_for_many_matches(monkeypatch):
    """Queries with many matches are sorted instead of counted: same figures either way."""
    import toolchain.evaluation.metrics as metrics_module

    q, qids, g, gids, qcams, gcams = _random_case(5)
    ref = brute_force(q, qids, g, gids, "cosine", qcams, gcams)
    monkeypatch.setattr(metrics_module, "MAX_COUNT_CELLS", 0)
    m = compute_metrics(q, qids, g, gids, query_cams=qcams, gallery_cams=gcams)
    np.testing.assert_allclose(m["cmc"], ref["cmc"], rtol=0, atol=1e-12)
    assert m["mAP"] == pytest.approx(ref["mAP"], abs=1e-12)
    assert m["mINP"] == pytest.approx(ref["mINP"], abs=1e-12)
