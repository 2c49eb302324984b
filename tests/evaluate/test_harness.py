"""The evaluation harness with the fake embedder and generator: conditions, scoring, resume, robustness."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import write

from ragtune import Workspace
from ragtune.components.evaluation import Evaluator
from ragtune.errors import InputError
from ragtune.evaluate.conditions import ExamplePool, choose_examples
from ragtune.evaluate.datasets import QAItem
from ragtune.testing import FakeEmbedder, FakeGenerator, FakeGenerators
from ragtune.testing.generator import extractive_reply

MEMOS = [
    {"id": "m1", "text": "The Heron project ships on 14 March. Dana Okafor owns the budget."},
    {"id": "m2", "text": "The Kestrel office moves to the fourth floor in February."},
]
QA = [
    {"id": "q1", "question": "Who owns the Heron budget?", "answers": ["Dana Okafor"], "gold_doc_ids": ["m1"]},
    {"id": "q2", "question": "Where does the Kestrel office move?", "answers": ["the fourth floor"],
     "gold_doc_ids": ["m2"]},
    {"id": "q3", "question": "What colour is the Heron logo?", "answers": [], "answerable": False,
     "gold_doc_ids": ["m1"]},
]


def jsonl(path: Path, rows: list[dict]) -> Path:
    return write(path, "\n".join(json.dumps(r) for r in rows) + "\n")


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    return jsonl(tmp_path / "corpus.jsonl", MEMOS), jsonl(tmp_path / "qa.jsonl", QA)


def make_evaluator(home: Path, generator=None) -> Evaluator:
    workspace = Workspace(
        home, embedder=FakeEmbedder(), generators=FakeGenerators(generator=generator or FakeGenerator()))
    return workspace.evaluation


def test_oracle_puts_the_gold_document_in_the_prompt(home, files):
    corpus, qa = files
    run = make_evaluator(home).evaluate(qa, condition="oracle", corpus=corpus)
    by_id = {i.item_id: i for i in run.items}
    assert by_id["q1"].metrics["answer_contained"] == 1.0 and "Dana Okafor" in by_id["q1"].prediction
    assert run.metrics["answer_contained"].n == 2 and run.metrics["abstain_rate"].n == 1
    lo, hi = run.metrics["f1"].ci95
    assert lo <= run.metrics["f1"].value <= hi


def test_closed_book_gives_the_model_only_the_question(home, files):
    corpus, qa = files
    generator = FakeGenerator()
    run = make_evaluator(home, generator).evaluate(qa, condition="closed_book")
    assert all("Sources:" not in m["content"] for call in generator.calls for m in call)
    assert run.metrics["f1"].value == 0.0  # the fake says "I do not know." without sources


def test_retrieval_runs_the_rag_pipeline_and_scores_citations(home, files):
    corpus, qa = files
    run = make_evaluator(home).evaluate(qa, condition="retrieval", corpus=corpus)
    q1 = next(i for i in run.items if i.item_id == "q1")
    assert q1.cited_doc_ids == ["m1"] and q1.metrics["citation_precision"] == 1.0
    assert "citation_precision" in run.to_json()["metrics"]


def test_few_shot_examples_never_include_the_scored_item():
    items = [QAItem(f"q{i}", f"question {i}", (f"a{i}",), True, (), None, i) for i in range(6)]
    pool = ExamplePool((), tuple(items))
    for item in items:
        examples = choose_examples(item, pool, 3, 0, grounded=False, gold_texts={})
        assert len(examples) == 3 and all(item.question not in str(e.prompt) for e in examples)
    assert (choose_examples(items[0], pool, 3, 0, grounded=False, gold_texts={})
            == choose_examples(items[0], pool, 3, 0, grounded=False, gold_texts={}))  # deterministic


def test_few_shot_uses_the_train_file_when_given(home, files, tmp_path):
    corpus, qa = files
    train = jsonl(tmp_path / "train.jsonl", [{"id": "t1", "question": "Training question?", "answers": ["yes"]}])
    generator = FakeGenerator("x")
    make_evaluator(home, generator).evaluate(qa, condition="few_shot", train=train, shots=2)
    assert any(m["content"] == "Training question?" for m in generator.calls[0])


def test_behaviour_items_score_json_validity_and_fields(home, tmp_path):
    rows = [{"id": f"e{i}", "input": f"Cafe {i} in the centre.",
             "output": json.dumps({"name": f"Cafe {i}", "area": "centre"}, sort_keys=True)} for i in range(4)]
    qa = jsonl(tmp_path / "e2e.jsonl", rows)
    good = make_evaluator(home / "a", FakeGenerator(lambda m: json.dumps(
        {"name": m[-1]["content"].split(" in ")[0], "area": "centre"}))).evaluate(qa, condition="closed_book")
    assert good.metrics["json_valid"].value == 1.0 and good.metrics["field_accuracy"].value == 1.0
    assert good.metrics["exact_match"].value == 1.0
    bad = make_evaluator(home / "b", FakeGenerator("Sure! Here is the JSON you asked for")).evaluate(
        qa, condition="few_shot")
    assert bad.metrics["json_valid"].value == 0.0 and bad.metrics["field_accuracy"].value == 0.0


def test_a_failing_model_is_recorded_per_item_and_the_run_goes_on(home, files):
    corpus, qa = files

    def explode(messages):
        raise RuntimeError("CUDA out of memory")

    run = make_evaluator(home, FakeGenerator(explode)).evaluate(qa, condition="closed_book")
    assert len(run.items) == 3 and all(i.error and "out of memory" in i.error for i in run.items)


def test_a_run_resumes_instead_of_repeating_finished_items(home, files):
    corpus, qa = files
    generator = FakeGenerator()
    evaluator = make_evaluator(home, generator)
    first = evaluator.evaluate(qa, condition="oracle", corpus=corpus)
    calls = len(generator.calls)
    again = evaluator.evaluate(qa, condition="oracle", corpus=corpus)
    assert len(generator.calls) == calls and again.run_id == first.run_id
    assert (first.run_dir / "items.jsonl").read_text().count("\n") == 3
    lines = (first.run_dir / "items.jsonl").read_text().splitlines()
    (first.run_dir / "items.jsonl").write_text("\n".join(lines[:1] + [lines[1][:20]]) + "\n")  # interrupted
    evaluator.evaluate(qa, condition="oracle", corpus=corpus)
    assert len(generator.calls) == calls + 2


@pytest.mark.parametrize("condition,kwargs,message", [
    ("telepathy", {}, "condition 'telepathy'"),
    ("retrieval", {}, None),
    ("oracle", {}, "oracle condition needs"),
])
def test_conditions_that_cannot_run_are_user_errors(home, tmp_path, condition, kwargs, message):
    qa = jsonl(tmp_path / "qa.jsonl", [{"id": "q", "question": "Who?", "answers": ["x"]}])
    evaluator = make_evaluator(home)
    if message is None:  # retrieval on an empty index runs and abstains rather than failing
        assert evaluator.evaluate(qa, condition=condition).items[0].abstained
        return
    with pytest.raises(InputError, match=message):
        evaluator.evaluate(qa, condition=condition, **kwargs)


def test_behaviour_items_cannot_use_retrieval(home, tmp_path):
    qa = jsonl(tmp_path / "e.jsonl", [{"id": "e", "input": "x", "output": "{}"}])
    with pytest.raises(InputError, match="QA items only"):
        make_evaluator(home).evaluate(qa, condition="retrieval")


def test_diagnose_runs_the_conditions_and_returns_a_verdict(home, files):
    corpus, qa = files
    diagnosis, runs, path = make_evaluator(home).diagnose(qa, corpus=corpus, target=0.8)
    assert set(runs) == {"closed_book", "few_shot", "oracle", "oracle+few_shot", "retrieval"}
    # the fake reader knows nothing closed-book and answers from any passage it is given: a knowledge problem
    assert diagnosis.verdict == "rag" and path.exists()
    assert json.loads(path.read_text())["verdict"] == "rag"


def test_diagnose_on_behaviour_items_skips_the_oracle_conditions(home, tmp_path):
    rows = [{"id": f"e{i}", "input": f"Cafe {i}.", "output": json.dumps({"name": f"Cafe {i}"})} for i in range(6)]
    qa = jsonl(tmp_path / "e2e.jsonl", rows)
    diagnosis, runs, _ = make_evaluator(home, FakeGenerator("not json")).diagnose(qa)
    assert set(runs) == {"closed_book", "few_shot"} and diagnosis.verdict == "finetune"


def test_behaviour_items_get_room_for_about_twice_their_expected_output():
    from ragtune.evaluate.harness import behaviour_token_budget

    assert behaviour_token_budget('{"name": "Blue Spice", "area": "city centre"}', 48) == 48
    assert behaviour_token_budget("x" * 300, 48) == 216
    assert behaviour_token_budget("x" * 10_000, 48) == 512


def test_a_mixed_set_with_a_corpus_runs_retrieval_on_its_questions_and_can_say_both(home, tmp_path):
    # knowledge: the fake reader knows nothing closed-book but answers from a passage;
    # behaviour: it never writes the JSON the behaviour items expect, even with examples
    def reply(messages):
        user = messages[-1]["content"]
        return extractive_reply(messages) if "Sources:" in user else "Sure, here you go!"

    corpus = jsonl(tmp_path / "corpus.jsonl", MEMOS)
    rows = QA * 4 + [{"id": f"b{i}", "input": f"Cafe {i} is cheap.", "output": json.dumps({"name": f"Cafe {i}"})}
                     for i in range(12)]
    rows = [dict(r, id=f"{r['id']}-{n}") if "question" in r else r for n, r in enumerate(rows)]
    qa = jsonl(tmp_path / "mixed.jsonl", rows)
    diagnosis, runs, _ = make_evaluator(home, FakeGenerator(reply)).diagnose(qa, corpus=corpus)
    assert {i.item_id for i in runs["retrieval"].items} == {r["id"] for r in rows if "question" in r}
    assert len(runs["closed_book"].items) == len(rows)
    assert diagnosis.verdict == "both", diagnosis.evidence


def test_an_edited_train_file_or_corpus_is_not_served_from_old_results(home, files, tmp_path):
    corpus, qa = files
    train = jsonl(tmp_path / "train.jsonl", [{"id": "t1", "question": "Training question?", "answers": ["yes"]}])
    generator = FakeGenerator()
    evaluator = make_evaluator(home, generator)
    few_shot = evaluator.evaluate(qa, condition="few_shot", train=train, shots=1)
    oracle = evaluator.evaluate(qa, condition="oracle", corpus=corpus)
    assert evaluator.evaluate(qa, condition="oracle", corpus=corpus).run_id == oracle.run_id  # unchanged: reused

    jsonl(train, [{"id": "t1", "question": "Another training question?", "answers": ["no"]}])  # same path
    assert evaluator.evaluate(qa, condition="few_shot", train=train, shots=1).run_id != few_shot.run_id

    edited = [dict(MEMOS[0], text="The Heron project ships on 2 May. Lee Park owns the budget."), MEMOS[1]]
    jsonl(corpus, edited)
    rerun = evaluator.evaluate(qa, condition="oracle", corpus=corpus)
    assert rerun.run_id != oracle.run_id
    assert any("Lee Park" in m["content"] for call in generator.calls[-len(rerun.items):] for m in call)


def test_a_document_removed_from_the_eval_corpus_is_gone_from_its_index(home, files):
    corpus, qa = files
    evaluator = make_evaluator(home)
    evaluator.evaluate(qa, condition="oracle", corpus=corpus)
    jsonl(corpus, MEMOS[1:])
    with pytest.raises(InputError, match="oracle condition needs"):
        evaluator.evaluate(qa, condition="oracle", corpus=corpus, limit=1)  # q1's gold document m1 is gone
