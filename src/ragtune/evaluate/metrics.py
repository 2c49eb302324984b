"""Ranking metrics as pure functions over one query: a ranked list of document ids and the set of gold ids.

Definitions follow Manning, Raghavan & Schütze, "Introduction to Information Retrieval" (2008), ch. 8, with
binary relevance: recall@k = |gold ∩ top-k| / |gold|; reciprocal rank = 1 / rank of the first gold document
(0 if none is retrieved); nDCG@k = DCG@k / IDCG@k with DCG = Σ rel_i / log2(i + 1).
"""

from __future__ import annotations

import math
from typing import Collection, Sequence


def dedupe(ranked: Sequence[str]) -> list[str]:
    """Keep each id at its best (first) rank: chunk hits → document ranking."""
    seen: set[str] = set()
    return [d for d in ranked if not (d in seen or seen.add(d))]


def recall_at_k(ranked: Sequence[str], gold: Collection[str], k: int) -> float:
    if not gold:
        raise ValueError("recall needs at least one gold id")
    return len(set(ranked[:k]) & set(gold)) / len(set(gold))


def reciprocal_rank(ranked: Sequence[str], gold: Collection[str]) -> float:
    for rank, doc in enumerate(ranked, start=1):
        if doc in gold:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked: Sequence[str], gold: Collection[str], k: int) -> float:
    if not gold:
        raise ValueError("nDCG needs at least one gold id")
    gold_set = set(gold)
    dcg = sum(1.0 / math.log2(i + 2) for i, doc in enumerate(ranked[:k]) if doc in gold_set)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(gold_set), k)))
    return dcg / ideal


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in [0, 100]) of a non-empty list."""
    if not values:
        raise ValueError("percentile of an empty list")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
