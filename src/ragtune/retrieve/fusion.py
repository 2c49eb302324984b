"""Fusing ranked lists from several retrievers (BM25, dense) into one ranking; two methods, both pure functions.

- ``zscore`` (the default): CombSUM (Fox & Shaw, TREC-2 1994) over z-score-normalized scores (Montague & Aslam,
  CIKM 2001): each list's scores become (score − mean) / std over that list's candidates, an item missing from a
  list gets that list's lowest score, and the normalized scores add up. Unlike rank fusion it keeps how far ahead
  an item is — a chunk far above the rest in one list and ordinary in the other beats one that is middling in
  both — and, unlike a weighted convex combination, it has no weight to fit. The ablation on both shared dev
  sets (bench/fusion.py, docs/retrieval.md) is why it is the default.
- ``rrf``: reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009): ``score(d) = Σ_lists 1 / (k + rank(d))``;
  only ranks matter. Kept for comparison and for replaying answers recorded with it.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Mapping, Sequence

DEFAULT_RRF_K = 60


@dataclass(frozen=True)
class Fused:
    """One fused item: its RRF score and its 1-based rank in each list that contained it."""

    item: str
    score: float
    ranks: Mapping[str, int]


def _ordered(scores: Mapping[str, float], ranks: Mapping[str, Mapping[str, int]], limit: int | None) -> list[Fused]:
    """Best first; ties break by best single rank, then by item id, so the order is deterministic."""
    def key(item: str) -> tuple[float, int, str]:
        return (-scores[item], min(ranks[item].values()), item)

    candidates: object = scores
    if limit is not None and 0 < limit < len(scores):
        # only items scoring at least the limit-th best score can place (ties at that score included), so the
        # full key is built for those — a handful — not for the two lists' hundreds of candidates
        cut = heapq.nlargest(limit, scores.values())[-1]
        candidates = [item for item, score in scores.items() if score >= cut]
    kept = sorted(candidates, key=key)[:None if limit is None else max(limit, 0)]
    return [Fused(item, scores[item], ranks[item]) for item in kept]


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
    return _ordered(scores, ranks, limit)


def zscore_fusion(scored: Mapping[str, Sequence[tuple[str, float]]], limit: int | None = None) -> list[Fused]:
    """Fuse named lists of (item, score), best first, by the sum of per-list z-scores (see the module doc).

    A list whose scores are all equal (or that holds one item) contributes 0 to every item: it says nothing about
    their order. An empty list contributes nothing. Ties break as in :func:`reciprocal_rank_fusion`."""
    ranks: dict[str, dict[str, int]] = {}
    normalized: dict[str, dict[str, float]] = {}
    floors: dict[str, float] = {}
    for name, items in scored.items():
        best: dict[str, float] = {}
        for rank, (item, score) in enumerate(items, start=1):
            if item not in best:  # a list that repeats an item counts it once, at its best rank
                best[item] = float(score)
                ranks.setdefault(item, {})[name] = rank
        if not best:
            continue
        values = list(best.values())
        mean = sum(values) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
        scale = std if std > 0 else math.inf  # all equal: every z-score is 0
        normalized[name] = {item: (v - mean) / scale for item, v in best.items()}
        floors[name] = (min(values) - mean) / scale
    scores: dict[str, float] = dict.fromkeys(ranks, 0)
    for name, z in normalized.items():  # list by list, in order: bit for bit what sum() over the lists gives
        floor = floors[name]
        for item in scores:
            scores[item] += z.get(item, floor)
    return _ordered(scores, ranks, limit)
