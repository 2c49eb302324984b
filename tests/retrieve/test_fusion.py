"""Reciprocal rank fusion, checked against hand-computed scores."""

import math

import pytest

from ragtune.retrieve.fusion import reciprocal_rank_fusion, zscore_fusion


def test_scores_are_sums_of_reciprocal_ranks():
    fused = reciprocal_rank_fusion({"bm25": ["a", "b", "c"], "dense": ["b", "d"]}, k=60)
    scores = {f.item: f.score for f in fused}
    assert scores["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert scores["a"] == pytest.approx(1 / 61)
    assert scores["c"] == pytest.approx(1 / 63)
    assert scores["d"] == pytest.approx(1 / 62)
    assert [f.item for f in fused] == ["b", "a", "d", "c"]
    assert fused[0].ranks == {"bm25": 2, "dense": 1}


def test_ties_break_by_best_single_rank_then_id():
    fused = reciprocal_rank_fusion({"x": ["a", "b"], "y": ["b", "a"]}, k=0)
    assert [f.item for f in fused] == ["a", "b"]  # equal scores, equal best rank: id order
    fused = reciprocal_rank_fusion({"x": ["p", "q", "r"], "y": ["r"]}, k=1)
    # r: 1/4 + 1/2 = .75 ; p: 1/2 ; q: 1/3
    assert [f.item for f in fused] == ["r", "p", "q"]


def test_k_zero_is_allowed_and_negative_k_is_not():
    assert reciprocal_rank_fusion({"x": ["a"]}, k=0)[0].score == 1.0
    with pytest.raises(ValueError):
        reciprocal_rank_fusion({"x": ["a"]}, k=-1)


def test_a_repeated_item_counts_once_at_its_best_rank():
    fused = reciprocal_rank_fusion({"x": ["a", "a", "b"]}, k=60)
    assert {f.item: f.score for f in fused} == {"a": pytest.approx(1 / 61), "b": pytest.approx(1 / 63)}


def test_empty_input_gives_empty_output():
    assert reciprocal_rank_fusion({}) == [] and reciprocal_rank_fusion({"x": []}) == []


# ---- z-score fusion ----------------------------------------------------------------------------------------------


def test_zscore_sums_per_list_z_scores_and_gives_a_missing_item_the_list_floor():
    # bm25 scores 6, 4, 2: mean 4, std sqrt(8/3); dense 0.9, 0.5: mean 0.7, std 0.2
    fused = zscore_fusion({"bm25": [("a", 6.0), ("b", 4.0), ("c", 2.0)], "dense": [("b", 0.9), ("d", 0.5)]})
    s = math.sqrt(8 / 3)
    scores = {f.item: f.score for f in fused}
    assert scores["a"] == pytest.approx(2 / s + -1.0)  # not in dense: dense's lowest z-score (d's)
    assert scores["b"] == pytest.approx(0.0 + 1.0)
    assert scores["c"] == pytest.approx(-2 / s + -1.0)
    assert scores["d"] == pytest.approx(-2 / s + -1.0)  # not in bm25: bm25's lowest z-score (c's)
    assert [f.item for f in fused] == ["b", "a", "d", "c"]  # c and d tie: d has the better single rank (2 < 3)
    assert fused[0].ranks == {"bm25": 2, "dense": 1}


def test_zscore_keeps_the_margin_that_rank_fusion_throws_away():
    # "a" is far ahead in bm25 and second in dense; "b" leads dense by a hair and is far behind in bm25
    lists = {"bm25": [("a", 30.0), ("b", 3.0), ("c", 2.0), ("d", 1.0)],
             "dense": [("b", 0.81), ("a", 0.80), ("c", 0.30), ("d", 0.20)]}
    assert [f.item for f in zscore_fusion(lists)][0] == "a"
    ranks_only = reciprocal_rank_fusion({n: [i for i, _ in items] for n, items in lists.items()}, k=60)
    assert {ranks_only[0].item, ranks_only[1].item} == {"a", "b"} and ranks_only[0].score == ranks_only[1].score


def test_a_list_of_equal_scores_says_nothing_and_an_empty_list_is_ignored():
    fused = zscore_fusion({"bm25": [("a", 2.0), ("b", 2.0)], "dense": [("b", 0.9), ("a", 0.1)], "none": []})
    assert [f.item for f in fused] == ["b", "a"]
    assert zscore_fusion({"x": [("only", 5.0)]})[0].score == 0.0
    assert zscore_fusion({}) == [] and zscore_fusion({"x": []}) == []


def test_zscore_counts_a_repeated_item_once_and_honours_limit():
    fused = zscore_fusion({"x": [("a", 3.0), ("a", 1.0), ("b", 2.0), ("c", 0.0)]}, limit=2)
    assert [f.item for f in fused] == ["a", "b"] and fused[0].ranks == {"x": 1}


# ---- the fast paths give what the definitions give ---------------------------------------------------


def _zscore_by_definition(scored, limit):
    """z-score fusion written as the module doc defines it: per-list z-scores, the list's floor for a missing
    item, summed with sum() over the lists in order, ranked by (-score, best single rank, id)."""
    ranks, normalized, floors = {}, {}, {}
    for name, items in scored.items():
        best = {}
        for rank, (item, score) in enumerate(items, start=1):
            if item not in best:
                best[item] = float(score)
                ranks.setdefault(item, {})[name] = rank
        if best:
            values = list(best.values())
            mean = sum(values) / len(values)
            std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
            scale = std if std > 0 else math.inf
            normalized[name] = {item: (v - mean) / scale for item, v in best.items()}
            floors[name] = (min(values) - mean) / scale
    scores = {item: sum(z.get(item, floors[name]) for name, z in normalized.items()) for item in ranks}
    order = sorted(scores, key=lambda i: (-scores[i], min(ranks[i].values()), i))
    return [(i, scores[i], ranks[i]) for i in (order if limit is None else order[:limit])]


@pytest.mark.parametrize("seed", range(40))
def test_zscore_fusion_equals_its_definition_bit_for_bit_ties_included(seed):
    import random

    rng = random.Random(seed)
    pool = [f"c{i}" for i in range(rng.randint(1, 150))]
    coarse = rng.random() < 0.5  # few distinct scores: many exact ties at the cut
    lists = {}
    for name in ("bm25", "dense", "third")[:rng.randint(1, 3)]:
        items = rng.sample(pool, rng.randint(0, len(pool)))
        draws = (float(rng.randint(0, 3)) if coarse else rng.gauss(0, 1) for _ in items)
        scores = sorted(draws, reverse=True)
        lists[name] = list(zip(items, scores))
    for limit in (None, 0, 1, 10, 100, 1000):
        got = [(f.item, f.score, dict(f.ranks)) for f in zscore_fusion(lists, limit=limit)]
        assert got == _zscore_by_definition(lists, limit)
