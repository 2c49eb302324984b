"""The cost model, checked against costs computed by hand (see docs/economics.md for the formulas)."""

from __future__ import annotations

import math

import pytest

from ragtune.economics.model import (
    DAYS_PER_MONTH,
    Inputs,
    break_even,
    break_evens,
    costs,
    recommend,
    retrains_per_month,
    sweep_volumes,
)
from ragtune.economics.prices import parse_prices

D = DAYS_PER_MONTH
SHEET = """\
currency: USD
options:
  prompt: {api: {input_per_1m: 2, output_per_1m: 10}}
  rag: {api: {input_per_1m: 0.5, output_per_1m: 1.5}}
  finetune: {local: {per_hour: 3.6}}
  rag+finetune: {local: {per_hour: 3.6, concurrency: 2}}
training: {per_hour: 10}
embedding: {per_hour: 1}
"""


def inputs(**changes) -> Inputs:
    base = dict(prompt_tokens={"prompt": 1000, "rag": 200, "finetune": 200, "rag+finetune": 200},
                context_tokens=800, completion_tokens=dict.fromkeys(("prompt", "rag", "finetune", "rag+finetune"), 100),
                seconds_per_query={"finetune": 1.0, "rag+finetune": 2.0}, training_hours=2, eval_hours=0.5,
                retrain_every_days=D, embed_seconds_per_chunk=0.036, corpus_chunks=10_000, chunks_changed_per_day=100,
                horizon_months=12)
    return Inputs(**{**base, **changes})


def test_each_option_costs_what_the_hand_computation_says():
    c = costs(parse_prices(SHEET), inputs())
    # prompt: (1000 × 2 + 100 × 10) / 1M a query, nothing fixed
    assert c["prompt"].per_query == pytest.approx(0.003) and c["prompt"].fixed_per_month == 0
    # rag: ((200 + 800) × 0.5 + 100 × 1.5) / 1M; first index 10,000 × 0.036 s = 0.1 h × 1 = 0.1 over 12 months,
    # upkeep 100 chunks × 0.036 s a day = 0.001 h a day × 1 × D days
    assert c["rag"].per_query == pytest.approx(0.00065)
    assert c["rag"].one_off == pytest.approx(0.1)
    assert c["rag"].fixed_per_month == pytest.approx(0.001 * D + 0.1 / 12)
    # finetune: 3.6 an hour × 1 s; a retrain = (2 + 0.5) h × 10 = 25, once a month, the first over 12 months
    assert c["finetune"].per_query == pytest.approx(0.001)
    assert c["finetune"].parts["retrain_each"] == pytest.approx(25) and c["finetune"].one_off == pytest.approx(25)
    assert c["finetune"].fixed_per_month == pytest.approx(25 + 25 / 12)
    # rag+finetune: 3.6 an hour × 2 s ÷ 2 at once; both fixed costs
    assert c["rag+finetune"].per_query == pytest.approx(0.001)
    assert c["rag+finetune"].fixed_per_month == pytest.approx(0.001 * D + 0.1 / 12 + 25 + 25 / 12)
    assert c["rag+finetune"].one_off == pytest.approx(25.1)
    # at 1,000 queries a day: a month and per 1,000 queries
    assert c["prompt"].monthly(1000) == pytest.approx(0.003 * 1000 * D)
    assert c["finetune"].per_1k(1000) == pytest.approx((25 + 25 / 12) / (1000 * D) * 1000 + 1.0)


def test_break_even_lands_exactly_on_the_expected_volume():
    # a prompted model at 0.003 a query against an adapter at 0.001 a query plus 2 × D a month: equal at 1,000/day
    volume = break_even(0.0, 0.003, 2 * D, 0.001)
    assert volume == pytest.approx(1000, rel=1e-12)
    assert 0.003 * volume * D == pytest.approx(2 * D + 0.001 * volume * D, rel=1e-12)


def test_break_even_is_none_for_parallel_lines_or_a_crossing_at_or_below_zero():
    assert break_even(0, 0.002, 10, 0.002) is None  # parallel
    assert break_even(10, 0.003, 0, 0.001) is None  # one is cheaper at every volume
    assert break_even(5, 0.003, 5, 0.001) is None  # they meet at zero


def test_break_evens_name_which_option_is_cheaper_on_each_side():
    c = costs(parse_prices(SHEET), inputs())
    points = {(b.a, b.b): b for b in break_evens(c)}
    b = points[("prompt", "finetune")]
    assert b.volume == pytest.approx((25 + 25 / 12) / (0.002 * D))
    assert (b.below, b.above) == ("prompt", "finetune")
    assert ("finetune", "rag+finetune") not in points  # same cost per query: parallel


def test_a_missing_input_leaves_the_cost_unknown_and_names_it():
    c = costs(parse_prices(SHEET), inputs(training_hours=None, context_tokens=None))
    assert not c["finetune"].complete and c["finetune"].unknown == ["training_hours"]
    assert c["rag"].per_query is None and c["rag"].unknown == ["context_tokens"]
    assert c["prompt"].complete and c["finetune"].monthly(100) is None


def test_a_corpus_that_never_changes_is_trained_once():
    assert retrains_per_month(math.inf) == 0 and retrains_per_month(0) == 0
    assert retrains_per_month(D / 2) == pytest.approx(2)
    c = costs(parse_prices(SHEET), inputs(retrain_every_days=math.inf))
    assert c["finetune"].fixed_per_month == pytest.approx(25 / 12)


def test_the_sweep_holds_its_ends_the_1_2_5_steps_and_the_break_evens():
    assert sweep_volumes(10, 1000, [444.9, 5000]) == [10, 20, 50, 100, 200, 444.9, 500, 1000]


def test_the_recommendation_puts_quality_first_then_cost():
    sheet = parse_prices(SHEET.replace("concurrency: 2", "concurrency: 8"))
    c = costs(sheet, inputs())
    # rag+finetune: 3.6 × 2 s ÷ 8 = 0.00025 a query against RAG's 0.00065: it pays off above the break-even
    fixed_rag = 0.001 * D + 0.1 / 12
    expected = (fixed_rag + 25 + 25 / 12 - fixed_rag) / ((0.00065 - 0.00025) * D)
    text = recommend(c, 100, "rag", D, "USD")
    assert text.startswith("RAG now (")
    assert f"RAG with a fine-tuned adapter pays off above {expected:,.0f} queries/day given a retrain every 30 " \
           "days" in text and "diagnose says rag" in text
    # a prompt that meets the target: every option is open, the cheapest at the volume wins
    assert recommend(c, 100, "prompt", D, "USD").startswith("RAG now")
    # behaviour problems need training: RAG alone is not on the table
    assert recommend(c, 100, "finetune", D, "USD").startswith("RAG with a fine-tuned adapter now")
    # nothing priced that could meet the target
    only_prompt = costs(parse_prices(SHEET.split("  rag:")[0] + "training: {per_hour: 1}\n"), inputs())
    assert recommend(only_prompt, 100, "rag", D, "USD").startswith("No recommendation yet")
