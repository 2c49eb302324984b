"""Reciprocal rank fusion, checked against hand-computed scores."""

import pytest

from ragtune.retrieve.fusion import reciprocal_rank_fusion


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
