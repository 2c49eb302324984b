"""diagnose rules on fake condition results: every verdict, the comprehension rule, and inconclusive evidence."""

from __future__ import annotations

import random

from ragtune.evaluate.diagnose import ItemScores, diagnose


def qa_items(n: int, **rates: float) -> list[ItemScores]:
    """n QA items; each condition passes (1.0) for the first rate·n items, fails (0.0) for the rest."""
    items = []
    for k in range(n):
        scores = {c.replace("_plus_", "+"): float(k < round(r * n)) for c, r in rates.items()}
        items.append(ItemScores(f"q{k}", "qa", scores))
    return items


def behaviour_items(n: int, **rates: float) -> list[ItemScores]:
    return [ItemScores(f"b{i.item_id}", "behaviour", i.scores) for i in qa_items(n, **rates)]


def test_prompt_when_closed_book_already_meets_the_target():
    d = diagnose(qa_items(200, closed_book=0.95, oracle=0.97, few_shot=0.95, oracle_plus_few_shot=0.97))
    assert d.verdict == "prompt" and not d.inconclusive


def test_prompt_when_examples_alone_fix_it():
    d = diagnose(behaviour_items(200, closed_book=0.1, few_shot=0.92, oracle=0.1, oracle_plus_few_shot=0.92))
    assert d.verdict == "prompt"


def test_rag_when_gold_context_fixes_the_failures():
    d = diagnose(qa_items(100, closed_book=0.05, few_shot=0.05, oracle=0.9, oracle_plus_few_shot=0.9,
                          retrieval=0.85))
    assert d.verdict == "rag" and not d.inconclusive and d.knowledge_gain[1] > 0
    assert d.failures["knowledge"] >= 80


def test_a_model_that_misreads_half_the_gold_passages_is_still_a_rag_case():
    # the small-model situation: nothing known closed-book, half right with the passage in the prompt
    d = diagnose(qa_items(60, closed_book=0.0, few_shot=0.0, oracle=0.52, oracle_plus_few_shot=0.52))
    assert d.verdict == "rag"
    assert d.failures["comprehension"] == 29 and d.failures["behaviour"] == 0
    assert any("comprehension" in e for e in d.evidence)


def test_retrieval_lagging_the_oracle_is_named_as_the_bottleneck():
    d = diagnose(qa_items(100, closed_book=0.0, oracle=0.9, oracle_plus_few_shot=0.9, retrieval=0.5))
    assert d.verdict == "rag" and any("retrieval is a bottleneck" in e for e in d.evidence)
    assert d.failures["retrieval"] == 40


def test_finetune_when_behaviour_fails_with_all_information_and_examples():
    d = diagnose(behaviour_items(150, closed_book=0.0, few_shot=0.4, oracle=0.0, oracle_plus_few_shot=0.4))
    assert d.verdict == "finetune" and not d.inconclusive and d.failures["behaviour"] == 90


def test_both_when_knowledge_and_behaviour_failures_are_substantial():
    items = (qa_items(100, closed_book=0.0, few_shot=0.0, oracle=0.9, oracle_plus_few_shot=0.9)
             + behaviour_items(100, closed_book=0.0, few_shot=0.3, oracle=0.0, oracle_plus_few_shot=0.3))
    d = diagnose(items)
    assert d.verdict == "both"


def test_a_small_sample_is_inconclusive_and_says_how_many_items_would_settle_it():
    d = diagnose(behaviour_items(12, closed_book=0.0, few_shot=0.67, oracle=0.0, oracle_plus_few_shot=0.67))
    assert d.inconclusive and d.items_needed and d.items_needed > 12


def test_a_noisy_small_knowledge_gain_is_inconclusive():
    rng = random.Random(0)
    items = [ItemScores(f"q{i}", "qa", {"closed_book": float(rng.random() < 0.3),
                                        "oracle": float(rng.random() < 0.4)}) for i in range(15)]
    d = diagnose(items)
    assert d.inconclusive


def test_to_json_has_the_contract_keys():
    data = diagnose(qa_items(50, closed_book=0.0, oracle=0.9)).to_json()
    assert data["verdict"] in ("prompt", "rag", "finetune", "both")
    assert {"score", "ci95"} <= set(data["conditions"]["oracle"]) and isinstance(data["evidence"], list)


def test_an_adapter_that_fixes_the_behaviour_is_named_as_closing_the_gap():
    d = diagnose(behaviour_items(120, closed_book=0.0, few_shot=0.3, oracle=0.0, oracle_plus_few_shot=0.3,
                                 adapter=0.95))
    assert d.verdict == "finetune"  # the kind of problem is decided on the base model
    assert "adapter" in d.conditions and d.conditions["adapter"].value > 0.9
    assert any("adapter closes the gap" in e for e in d.evidence)
    assert any("promote" in r for r in d.recommendations)


def test_an_adapter_no_better_than_few_shot_is_reported_as_such():
    d = diagnose(behaviour_items(120, closed_book=0.0, few_shot=0.3, oracle=0.0, oracle_plus_few_shot=0.3,
                                 adapter=0.3))
    assert any("no clear gain" in e for e in d.evidence)
    assert not any("promote the adapter" in r for r in d.recommendations)


def test_a_gain_near_the_minimum_effect_asks_for_more_items_than_it_has():
    # the SQuAD situation: a real gain (CI above 0) whose size is not separated from MIN_EFFECT (0.1)
    d = diagnose(qa_items(60, closed_book=0.07, few_shot=0.03, oracle=0.23, oracle_plus_few_shot=0.22))
    lo = d.knowledge_gain[1]
    assert d.verdict == "rag" and d.inconclusive and lo > 0
    assert d.items_needed > 60  # more items than were run: never "34 items would settle it" after 60


# ---- examples that hurt ----------------------------------------------------------------------------------------


def scripted(kind: str, n: int, passes: dict[str, range]) -> list[ItemScores]:
    """n items of one kind; each condition passes exactly on the item numbers in its range."""
    return [ItemScores(f"{kind}{k}", kind, {c: float(k in r) for c, r in passes.items()}) for k in range(n)]


def test_examples_that_hurt_are_named_and_not_counted_as_prompt_fixable():
    # the issue-#16 shape: oracle passes 36 of 40; oracle + few-shot collapses, passing only 4 items oracle missed
    items = scripted("qa", 40, {"closed_book": range(0), "few_shot": range(0), "oracle": range(36),
                                "oracle+few_shot": range(36, 40), "retrieval": range(36)})
    d = diagnose(items)
    hurt = [e for e in d.evidence if e.startswith("examples hurt:")]
    assert len(hurt) == 1 and "oracle + few_shot scores -0.80" in hurt[0] and "against oracle" in hurt[0]
    assert d.failures["prompt_fixable"] == 0 and d.failures["comprehension"] == 4
    assert d.verdict == "rag" and not d.inconclusive  # the verdict rules are unchanged


def test_behaviour_examples_that_hurt_do_not_make_items_prompt_fixable():
    items = scripted("behaviour", 40, {"closed_book": range(30), "few_shot": range(30, 34)})
    d = diagnose(items)
    assert any(e.startswith("examples hurt: few_shot scores -0.65") and
               "against closed_book on the same 40 behaviour items" in e for e in d.evidence)
    assert d.failures["prompt_fixable"] == 0 and d.failures["behaviour"] == 10


def test_examples_that_help_or_make_no_clear_difference_are_not_flagged():
    helps = scripted("behaviour", 40, {"closed_book": range(10), "few_shot": range(30)})
    noisy = scripted("qa", 12, {"closed_book": range(0), "oracle": range(8), "oracle+few_shot": range(1, 8)})
    for items in (helps, noisy):
        assert not any(e.startswith("examples hurt:") for e in diagnose(items).evidence)
    assert diagnose(helps).failures["prompt_fixable"] == 20


def test_the_guard_is_per_item_kind():
    # QA examples broken, behaviour examples fine: behaviour items still count as fixed by their examples
    items = (scripted("qa", 40, {"closed_book": range(0), "oracle": range(36), "oracle+few_shot": range(36, 40)})
             + scripted("behaviour", 40, {"closed_book": range(0), "oracle": range(0),
                                          "oracle+few_shot": range(30)}))
    d = diagnose(items)
    assert [e.split(" on the same ")[1].split(" items")[0] for e in d.evidence
            if e.startswith("examples hurt:")] == ["40 QA"]
    assert d.failures["prompt_fixable"] == 30 and d.failures["comprehension"] == 4
