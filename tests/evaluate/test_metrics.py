"""Ranking metrics against hand-computed values."""

import math

import pytest

from ragtune.evaluate.metrics import dedupe, ndcg_at_k, percentile, recall_at_k, reciprocal_rank


def test_dedupe_keeps_first_occurrence():
    assert dedupe(["a", "b", "a", "c", "b"]) == ["a", "b", "c"]


def test_recall_at_k():
    ranked = ["x", "g1", "y", "g2"]
    assert recall_at_k(ranked, {"g1", "g2"}, 1) == 0.0
    assert recall_at_k(ranked, {"g1", "g2"}, 2) == 0.5
    assert recall_at_k(ranked, {"g1", "g2"}, 10) == 1.0


def test_reciprocal_rank():
    assert reciprocal_rank(["x", "y", "g"], {"g"}) == pytest.approx(1 / 3)
    assert reciprocal_rank(["x"], {"g"}) == 0.0


def test_ndcg_single_gold_at_rank_three():
    # DCG = 1/log2(4) = 0.5 ; IDCG = 1
    assert ndcg_at_k(["a", "b", "g"], {"g"}, 10) == pytest.approx(0.5)


def test_ndcg_two_gold_documents():
    # gold at ranks 1 and 3: DCG = 1 + 1/log2(4) = 1.5 ; IDCG = 1 + 1/log2(3)
    expected = 1.5 / (1 + 1 / math.log2(3))
    assert ndcg_at_k(["g1", "x", "g2"], {"g1", "g2"}, 10) == pytest.approx(expected)
    assert ndcg_at_k(["x", "g1"], {"g1"}, 1) == 0.0


def test_metrics_need_gold():
    with pytest.raises(ValueError):
        recall_at_k(["a"], set(), 1)
    with pytest.raises(ValueError):
        ndcg_at_k(["a"], set(), 1)


def test_percentile_interpolates():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([5], 95) == 5
    assert percentile([1, 2, 3, 4, 5], 100) == 5
