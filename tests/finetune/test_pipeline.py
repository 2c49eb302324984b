"""The before/after summary: per-condition metrics and paired adapter − baseline differences on the same items."""

from __future__ import annotations

from pathlib import Path

from ragtune.evaluate.datasets import BehaviourItem
from ragtune.evaluate.harness import EvalRun, ItemResult, summarize
from ragtune.finetune.examples import TrainingExample
from ragtune.finetune.pipeline import eval_items, summarize_before_after


def run(condition: str, accuracies: list[float], seconds: float = 0.0) -> EvalRun:
    results = [ItemResult(f"i{k}", condition, "{}", False, {"json_valid": 1.0, "field_accuracy": a,
                                                            "exact_match": float(a == 1.0)}, seconds=seconds)
               for k, a in enumerate(accuracies)]
    return EvalRun(f"run-{condition}", condition, Path("/tmp"), results, summarize(results))


def test_the_adapter_is_compared_with_few_shot_and_closed_book_on_the_same_items():
    items = [BehaviourItem(f"i{k}", "x", '{"a": 1}', k) for k in range(40)]
    runs = {"closed_book": run("closed_book", [0.0] * 40), "few_shot": run("few_shot", [0.5] * 40),
            "adapter": run("adapter", [1.0] * 30 + [0.5] * 10)}
    summary = summarize_before_after(runs, items)
    assert summary["n"] == 40
    assert summary["conditions"]["adapter"]["metrics"]["field_accuracy"]["value"] == 0.875
    assert summary["adapter_vs_few_shot"]["mean"] == 0.375 and summary["adapter_vs_few_shot"]["ci95"][0] > 0
    assert summary["adapter_vs_closed_book"]["mean"] == 0.875
    assert summary["conditions"]["few_shot"]["run_id"] == "run-few_shot"


def test_the_summary_records_how_long_the_evaluation_took():
    """`ragtune cost` prices the evaluation that follows every retrain from this."""
    items = [BehaviourItem(f"i{k}", "x", '{"a": 1}', k) for k in range(4)]
    runs = {"few_shot": run("few_shot", [0.5] * 4, seconds=1.5), "adapter": run("adapter", [1.0] * 4, seconds=0.25)}
    assert summarize_before_after(runs, items)["seconds"] == 7.0


def test_only_single_turn_examples_become_eval_items():
    single = TrainingExample("a", ({"role": "user", "content": "in"},), "out", 1)
    chat = TrainingExample("b", ({"role": "system", "content": "s"}, {"role": "user", "content": "in"}), "out", 2)
    assert eval_items([single, chat]) == [BehaviourItem("a", "in", "out", 1)]
