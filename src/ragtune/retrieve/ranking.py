"""Top-k selection over score arrays."""

from __future__ import annotations

import numpy as np


def top_k(scores: np.ndarray, k: int, mask: np.ndarray | None = None, positive_only: bool = False) -> np.ndarray:
    """Row indices of the ``k`` highest scores, best first (ties: lower row first).

    ``mask`` excludes rows (False = excluded); ``positive_only`` drops rows scoring <= 0 (BM25: no shared term).
    """
    keep = np.ones(len(scores), dtype=bool) if mask is None else mask.copy()
    if positive_only:
        keep &= scores > 0
    candidates = np.flatnonzero(keep)
    if len(candidates) == 0 or k <= 0:
        return np.zeros(0, dtype=np.int64)
    selected = scores[candidates]
    if len(candidates) > k:
        part = np.argpartition(-selected, k - 1)[:k]
        candidates, selected = candidates[part], selected[part]
    order = np.lexsort((candidates, -selected))
    return candidates[order]


def cosine_scores(vectors: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Cosine similarity of every row with the query (rows and query are already L2-normalized)."""
    if len(vectors) == 0:
        return np.zeros(0, dtype=np.float32)
    return vectors @ query.astype(vectors.dtype, copy=False)
