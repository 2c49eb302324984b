"""Reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009): ``score(d) = Σ_lists 1 / (k + rank(d))``.

Only ranks matter, so retrievers with incomparable score scales (BM25, cosine) combine without calibration.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Mapping, Sequence

DEFAULT_RRF_K = 60


@dataclass(frozen=True)
class Fused:
    """One fused item: its RRF score and its 1-based rank in each list that contained it."""

    item: str
    score: float
    ranks: Mapping[str, int]


def reciprocal_rank_fusion(
    rankings: Mapping[str, Sequence[str]], k: int = DEFAULT_RRF_K, limit: int | None = None
) -> list[Fused]:
    """Fuse named ranked lists (best first), keeping the best ``limit`` (all when None). Ties break by best single
    rank, then by item id, so the order is deterministic."""
    if k < 0:
        raise ValueError(f"rrf k must be >= 0, got {k}")
    scores: dict[str, float] = {}
    ranks: dict[str, dict[str, int]] = {}
    for name, ranked in rankings.items():
        for rank, item in enumerate(ranked, start=1):
            if name in ranks.get(item, {}):
                continue  # a list that repeats an item counts it once, at its best rank
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
            ranks.setdefault(item, {})[name] = rank
    def key(item: str) -> tuple[float, int, str]:
        return (-scores[item], min(ranks[item].values()), item)

    order = sorted(scores, key=key) if limit is None else heapq.nsmallest(limit, scores, key=key)
    return [Fused(item, scores[item], ranks[item]) for item in order]
