"""k-reciprocal re-ranking: shape, the lambda = 1 limit, a gain on a clustered set with a
confusing neighbour, and the size limit."""

from __future__ import annotations

import numpy as np
import pytest

from toolchain.errors import EvaluationError
from toolchain.evaluation.metrics import compute_metrics, distance_matrix, metrics_from_distances
from toolchain.evaluation.reranking import re_rank


def _clusters(seed=0, n_ids=12, per_id=6, dim=16, noise=0.9):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(n_ids, dim))
    ids = np.repeat(np.arange(n_ids), per_id)
    emb = centers[ids] + noise * rng.normal(size=(len(ids), dim))
    q_mask = np.arange(len(ids)) % per_id == 0
    return emb[q_mask], ids[q_mask], emb[~q_mask], ids[~q_mask]


def test_lambda_one_keeps_the_original_ranking():
    q, qids, g, gids = _clusters()
    d = re_rank(q, g, lambda_value=1.0)
    assert d.shape == (len(q), len(g))
    plain = compute_metrics(q, qids, g, gids)
    from_d = metrics_from_distances(d, qids, gids)
    for key in ("rank1", "rank5", "mAP", "mINP", "cmc"):
        assert from_d[key] == pytest.approx(plain[key], abs=1e-12)
    # lambda = 1: squared distances scaled per column, so each query's order is unchanged.
    base = distance_matrix(q, g)
    for i in range(len(q)):
        assert np.array_equal(np.argsort(d[i], kind="stable"), np.argsort(base[i], kind="stable"))


def test_re_ranking_helps_on_clusters_and_is_deterministic():
    q, qids, g, gids = _clusters(seed=3, noise=1.1)
    plain = compute_metrics(q, qids, g, gids)["mAP"]
    d1 = re_rank(q, g)
    d2 = re_rank(q, g)
    assert np.array_equal(d1, d2)
    reranked = metrics_from_distances(d1, qids, gids)["mAP"]
    assert reranked > plain


def test_refuses_sets_over_the_limit():
    q = np.ones((30, 4))
    g = np.ones((80, 4))
    with pytest.raises(EvaluationError, match="30 queries \\+ 80 gallery images = 110 exceed"):
        re_rank(q, g, max_items=100)
    with pytest.raises(EvaluationError, match="k1"):
        re_rank(q[:2], g[:3], k1=0)
