"""k-reciprocal re-ranking (Zhong et al., CVPR 2017) of a query/gallery distance matrix.

Re-ranking refines each query's distances with the neighbourhoods its neighbours share: two
images are close when they sit in each other's k-reciprocal nearest-neighbour sets. It needs
the full (Q + G)² distance matrix and a few matrices of the same size, so memory grows with the
square of the set: sets over `MAX_ITEMS` images are refused with a clear error rather than
exhausting memory (8 000 images ≈ 1.3 GB of working arrays).

Example:
    d = re_rank(query_emb, gallery_emb)            # (Q, G), k1 20, k2 6, lambda 0.3
    metrics = metrics_from_distances(d, q_ids, g_ids)
"""

from __future__ import annotations

import numpy as np

from toolchain.errors import EvaluationError
from toolchain.evaluation.metrics import DISTANCES, l2_normalize

#: Largest query + gallery set re-ranked: working memory is about 20 bytes × (Q + G)².
MAX_ITEMS = 8000


def re_rank(
    query_emb,
    gallery_emb,
    metric: str = "cosine",
    k1: int = 20,
    k2: int = 6,
    lambda_value: float = 0.3,
    max_items: int = MAX_ITEMS,
) -> np.ndarray:
    """Re-ranked (Q, G) distances: λ · original + (1 − λ) · Jaccard distance of k-reciprocal sets.

    Args:
        query_emb, gallery_emb: (Q, D) and (G, D) embeddings (normalised here).
        metric: the base distance (cosine | euclidean); it is squared and each column scaled
            to a maximum of 1, as in the paper.
        k1: size of the k-reciprocal neighbourhoods.
        k2: neighbours averaged in the local query expansion (1 = none).
        lambda_value: weight of the original distance.
        max_items: refuse Q + G above this.

    Raises:
        EvaluationError: the set is too large, or a parameter is out of range.
    """
    q = l2_normalize(query_emb)
    g = l2_normalize(gallery_emb)
    num_q, total = len(q), len(q) + len(g)
    if total > max_items:
        raise EvaluationError(
            f"evaluation.re_ranking: {num_q} queries + {len(g)} gallery images = {total} exceed "
            f"the re-ranking limit of {max_items} (it holds (Q+G)^2 matrices, ~20 bytes each: "
            f"{20 * total * total / 1e9:.1f} GB). Set evaluation.re_ranking: false or use a "
            "smaller test set."
        )
    if k1 < 1 or k2 < 1 or not 0.0 <= lambda_value <= 1.0:
        raise EvaluationError(
            f"re-ranking parameters: expected k1 >= 1, k2 >= 1, 0 <= lambda <= 1; received "
            f"k1={k1}, k2={k2}, lambda={lambda_value}"
        )
    feats = np.concatenate([q, g])
    dist = DISTANCES.get(metric)(feats, feats) ** 2
    col_max = dist.max(axis=0)
    original = (dist / np.where(col_max > 0, col_max, 1.0)).T.astype(np.float32)
    del dist
    k1 = min(k1, total - 1) if total > 1 else 0
    initial_rank = np.argsort(original, axis=1, kind="stable").astype(np.int32)
    weights = np.zeros((total, total), dtype=np.float32)
    half = int(np.around(k1 / 2.0))
    for i in range(total):
        expansion = _k_reciprocal(initial_rank, i, k1)
        base = expansion
        for candidate in base:
            candidate_set = _k_reciprocal(initial_rank, candidate, half)
            if len(np.intersect1d(candidate_set, base)) > 2.0 / 3.0 * len(candidate_set):
                expansion = np.append(expansion, candidate_set)
        expansion = np.unique(expansion)
        w = np.exp(-original[i, expansion])
        weights[i, expansion] = w / w.sum()
    if k2 != 1:
        expanded = np.zeros_like(weights)
        for i in range(total):
            expanded[i] = weights[initial_rank[i, :k2]].mean(axis=0)
        weights = expanded
    del initial_rank
    inverted = [np.flatnonzero(weights[:, j]) for j in range(total)]
    jaccard = np.zeros((num_q, total), dtype=np.float32)
    for i in range(num_q):
        shared = np.zeros(total, dtype=np.float32)
        for j in np.flatnonzero(weights[i]):
            rows = inverted[j]
            shared[rows] += np.minimum(weights[i, j], weights[rows, j])
        jaccard[i] = 1.0 - shared / (2.0 - shared)
    final = jaccard * (1.0 - lambda_value) + original[:num_q] * lambda_value
    return final[:, num_q:].astype(np.float64)


def _k_reciprocal(initial_rank: np.ndarray, i: int, k: int) -> np.ndarray:
    """Indices among the k + 1 nearest of i that also have i among their k + 1 nearest."""
    forward = initial_rank[i, : k + 1]
    backward = initial_rank[forward, : k + 1]
    return forward[np.any(backward == i, axis=1)]
