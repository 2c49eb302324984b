"""A set-similarity join: which pairs of word sets are near duplicates (Jaccard at or above a threshold), in
near-linear time on real text. The data checks use it for near duplicates and train/eval leakage."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Iterator, Sequence


def similar_pairs(sets: Sequence[frozenset[str]], threshold: float,
                  queries: Sequence[frozenset[str]] | None = None) -> Iterator[tuple[int, int]]:
    """Pairs with Jaccard similarity ≥ ``threshold``: ``(i, j)`` with ``i < j`` within ``sets``, or
    ``(query index, set index)`` between ``queries`` and ``sets``. Empty sets never match.

    Prefix filtering (Chaudhuri, Ganti & Kaushik 2006; Bayardo, Ma & Srikant 2007, "All-Pairs"): order every set's
    tokens from rarest to most common; two sets with Jaccard ≥ t share at least one token among the first
    ``|x| - ceil(t·|x|) + 1`` tokens of each. Only pairs sharing a prefix token are compared, which is near-linear on
    real text instead of comparing all n² pairs. Within one collection the sets are visited smallest first, so the
    already indexed set is never the larger one and a shorter index prefix suffices (``|y| - ceil(2t/(1+t)·|y|) + 1``,
    All-Pairs' indexing bound). Identical sets are grouped first so repeated texts cost nothing.
    """
    frequency = Counter(token for s in [*sets, *(queries or ())] for token in s)

    def prefix(s: frozenset[str], share: float) -> list[str]:
        ordered = sorted(s, key=lambda token: (frequency[token], token))
        return ordered[: len(s) - math.ceil(share * len(s) - 1e-9) + 1]

    overlap_share = threshold / (1 + threshold)

    def similar(a: frozenset[str], b: frozenset[str]) -> bool:
        # J = |a∩b| / (|a| + |b| - |a∩b|) ≥ t  ⇔  |a∩b| ≥ t/(1+t)·(|a| + |b|); no union set is built
        return len(a & b) >= overlap_share * (len(a) + len(b)) - 1e-9

    groups: dict[frozenset[str], list[int]] = defaultdict(list)
    for i, s in enumerate(sets):
        if s:
            groups[s].append(i)
    index: dict[str, list[frozenset[str]]] = defaultdict(list)
    if queries is None:
        for members in groups.values():  # identical sets: similarity 1
            yield from ((a, b) for n, a in enumerate(members) for b in members[n + 1:])
        index_share = 2 * threshold / (1 + threshold)
        for s in sorted(groups, key=len):
            candidates = {other for token in prefix(s, threshold) for other in index.get(token, ())}
            for other in candidates:
                if similar(s, other):
                    yield from ((min(a, b), max(a, b)) for a in groups[other] for b in groups[s])
            for token in prefix(s, index_share):
                index[token].append(s)
        return
    for s in groups:
        for token in prefix(s, threshold):
            index[token].append(s)
    for q, s in enumerate(queries):
        if not s:
            continue
        candidates = {other for token in prefix(s, threshold) for other in index.get(token, ())}
        for j in sorted(j for other in candidates if similar(s, other) for j in groups[other]):
            yield q, j
