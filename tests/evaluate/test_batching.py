"""The harness decodes in batches: results in item order and identical to one-at-a-time runs, batches bounded
by the setting, resume after an interrupt mid-run, and one failing item never loses the others."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from tests.conftest import write

from ragtune import Settings, Workspace
from ragtune.config import AnswerConfig
from ragtune.errors import ConfigError
from ragtune.evaluate.datasets import QAItem
from ragtune.evaluate.harness import run_condition
from ragtune.testing import FakeEmbedder, FakeGenerator, FakeGenerators
from ragtune.testing.generator import extractive_reply

FACTS = [(f"m{i}", f"Project {name} is led by {lead}.", f"Who leads project {name}?", lead)
         for i, (name, lead) in enumerate([("Heron", "Dana Okafor"), ("Kestrel", "Ravi Mehta"), ("Osprey", "Lena Park"),
                                           ("Plover", "Tom Berg"), ("Egret", "Ana Silva"), ("Swift", "Joe Kim"),
                                           ("Wren", "Mia Chen"), ("Lark", "Sam Ode"), ("Finch", "Kai Ito"),
                                           ("Tern", "Eva Roth"), ("Ibis", "Lou Vane")])]
ITEMS = [QAItem(f"q{i}", q, (a,), True, (d,), None, i) for i, (d, _, q, a) in enumerate(FACTS)]
GOLD = {d: text for d, text, _, _ in FACTS}


def run(tmp_path: Path, name: str, generator, batch_size: int, condition: str = "oracle", **kwargs):
    return run_condition(ITEMS, condition, generator=generator, config=AnswerConfig(), run_dir=tmp_path / name,
                         gold_texts=GOLD, batch_size=batch_size, **kwargs)


@pytest.mark.parametrize("condition", ["closed_book", "oracle", "few_shot", "oracle+few_shot"])
def test_batched_runs_equal_one_at_a_time_runs_in_item_order(tmp_path, condition):
    alone, batched = FakeGenerator(), FakeGenerator()
    one = run(tmp_path, "one", alone, 1, condition)
    many = run(tmp_path, "many", batched, 4, condition)
    assert [i.item_id for i in many.items] == [i.item_id for i in ITEMS]
    strip = [(i.item_id, i.prediction, i.abstained, i.metrics, i.error) for i in one.items]
    assert [(i.item_id, i.prediction, i.abstained, i.metrics, i.error) for i in many.items] == strip
    assert alone.batches == [] and batched.batches and max(batched.batches) <= 4
    assert sorted(map(str, alone.calls)) == sorted(map(str, batched.calls))  # the same prompts, nothing extra


def test_progress_counts_every_item_once(tmp_path):
    seen: list[tuple[int, int]] = []
    run(tmp_path, "p", FakeGenerator(), 3, on_item=lambda done, total: seen.append((done, total)))
    assert seen == [(n, len(ITEMS)) for n in range(1, len(ITEMS) + 1)]


def test_an_interrupted_batched_run_keeps_finished_batches_and_resumes(tmp_path):
    calls = {"n": 0}

    def flaky(messages):
        calls["n"] += 1
        if calls["n"] == 5:  # inside the second batch: like Ctrl-C while it decodes
            raise KeyboardInterrupt
        return extractive_reply(messages)

    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, "r", FakeGenerator(flaky), 4)
    lines = (tmp_path / "r" / "items.jsonl").read_text().splitlines()
    assert len(lines) == 4  # the first batch was written as it finished
    generator = FakeGenerator()
    resumed = run(tmp_path, "r", generator, 4)
    assert len(generator.calls) == len(ITEMS) - 4  # only what was missing ran again
    assert all(i.error is None and i.metrics["answer_contained"] == 1.0 for i in resumed.items)
    assert [i.item_id for i in resumed.items] == [i.item_id for i in ITEMS]
    written = [json.loads(line)["item_id"] for line in (tmp_path / "r" / "items.jsonl").read_text().splitlines()]
    assert sorted(written) == sorted(i.item_id for i in ITEMS)  # every item exactly once


def test_one_failing_item_in_a_batch_loses_no_other_item(tmp_path):
    def breaks_on_osprey(messages):
        if "Osprey" in messages[-1]["content"]:
            raise RuntimeError("model failure")
        return extractive_reply(messages)

    result = run(tmp_path, "e", FakeGenerator(breaks_on_osprey), 4)
    errors = {i.item_id: i.error for i in result.items if i.error}
    assert list(errors) == ["q2"] and "model failure" in errors["q2"]
    assert all(i.metrics["answer_contained"] == 1.0 for i in result.items if i.item_id != "q2")


def test_retrieval_batched_gives_what_ask_gives_for_each_question(tmp_path):
    corpus = write(tmp_path / "corpus.jsonl", "\n".join(json.dumps({"id": d, "text": t}) for d, t, _, _ in FACTS)
                   + "\n" + json.dumps({"id": "x", "text": "Unrelated words about cooking pasta."}) + "\n")
    qa = write(tmp_path / "qa.jsonl", "\n".join(
        json.dumps({"id": i.item_id, "question": i.question, "answers": list(i.answers),
                    "gold_doc_ids": list(i.gold_doc_ids)}) for i in ITEMS)
        + "\n" + json.dumps({"id": "u", "question": "zzz qqq", "answers": [], "answerable": False}) + "\n")
    generator = FakeGenerator()
    workspace = Workspace(settings=Settings(home=tmp_path / "home", eval_batch_size=4), embedder=FakeEmbedder(),
                          generators=FakeGenerators(generator=generator))
    workspace.documents.ingest([corpus])
    evaluation = workspace.evaluation.evaluate(qa, condition="retrieval")
    assert generator.batches and max(generator.batches) <= 4
    for item in evaluation.items:
        question = next(json.loads(line)["question"] for line in qa.read_text().splitlines()
                        if json.loads(line)["id"] == item.item_id)
        answer = workspace.answers.ask(question)
        assert (item.prediction, item.abstained, item.cited_doc_ids) == (
            answer.answer, answer.abstained, [c.doc_id for c in answer.citations])


def test_the_batch_size_setting_is_validated():
    with pytest.raises(ConfigError, match="eval_batch_size"):
        replace(Settings(), eval_batch_size=0)
