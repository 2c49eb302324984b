"""Answer metrics and bootstrap CIs against hand-computed values."""

import numpy as np
import pytest

from ragtune.evaluate.answer_metrics import (
    answer_contained,
    citation_precision,
    exact_match,
    normalize_answer,
    token_f1,
)
from ragtune.evaluate.bootstrap import bootstrap_ci, paired_bootstrap_diff


def test_normalization_follows_squad():
    assert normalize_answer("The  Eiffel-Tower, in PARIS!") == "eiffeltower in paris"


def test_exact_match_takes_the_best_gold():
    assert exact_match("the Denver Broncos", ["Broncos", "Denver Broncos"]) == 1.0
    assert exact_match("Broncos!", ["Denver Broncos"]) == 0.0


def test_token_f1_by_hand():
    # pred: [denver, broncos, won] ; gold: [broncos] -> P = 1/3, R = 1 -> F1 = 0.5
    assert token_f1("Denver Broncos won", ["Broncos"]) == pytest.approx(0.5)
    assert token_f1("nothing", ["Broncos"]) == 0.0
    assert token_f1("", [""]) == 1.0


def test_answer_contained():
    assert answer_contained("It was the Denver Broncos.", ["Denver Broncos"]) == 1.0
    assert answer_contained("Denverx", ["Denver"]) == 0.0


def test_citation_precision():
    assert citation_precision(["a", "b", "a"], ["a"]) == pytest.approx(2 / 3)
    assert citation_precision([], ["a"]) is None


def test_bootstrap_ci_brackets_the_mean_and_is_reproducible():
    values = [0, 1] * 50
    lo, hi = bootstrap_ci(values, seed=1)
    assert lo < 0.5 < hi and (lo, hi) == bootstrap_ci(values, seed=1)
    assert bootstrap_ci([1, 1, 1]) == (1.0, 1.0)


def test_paired_bootstrap_sees_a_consistent_small_gain():
    rng = np.random.default_rng(0)
    base = rng.random(200)
    mean, lo, hi = paired_bootstrap_diff(base + 0.05, base)
    assert mean == pytest.approx(0.05) and lo == pytest.approx(0.05) and hi == pytest.approx(0.05)
    with pytest.raises(ValueError):
        paired_bootstrap_diff([1], [1, 2])


def test_json_validity_is_strict_about_extra_text():
    from ragtune.evaluate.answer_metrics import json_valid

    assert json_valid(' {"a": 1} ') == 1.0
    assert json_valid('Here: {"a": 1}') == 0.0 and json_valid("") == 0.0


def test_field_accuracy_counts_missing_and_invented_fields():
    from ragtune.evaluate.answer_metrics import field_accuracy

    expected = '{"name": "Blue Spice", "area": "city centre", "food": "Thai"}'
    # name right, area wrong, food missing, near invented: 1 right of 4 keys
    assert field_accuracy('{"name": "Blue Spice", "area": "riverside", "near": "x"}', expected) == 0.25
    assert field_accuracy(expected, expected) == 1.0
    assert field_accuracy("not json", expected) == 0.0


def test_output_exact_match_ignores_key_order_for_json():
    from ragtune.evaluate.answer_metrics import output_exact_match

    assert output_exact_match('{"b": 2, "a": 1}', '{"a": 1, "b": 2}') == 1.0
    assert output_exact_match('{"a": 1}', '{"a": 2}') == 0.0
    assert output_exact_match(" plain text ", "plain text") == 1.0
