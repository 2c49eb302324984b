"""The exact prompt of every condition, with the fake generator recording what the model is sent: few-shot
examples take the shape of the prompt they precede (grounded before a grounded prompt, bare before a bare one)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from tests.conftest import REPO, write

from ragtune import Workspace
from ragtune.config import AnswerConfig
from ragtune.evaluate.conditions import ExamplePool, choose_examples, grounded_examples_note
from ragtune.evaluate.datasets import BehaviourItem, EvalItem, QAItem, read_eval_items
from ragtune.evaluate.harness import run_condition
from ragtune.generate.prompts import CLOSED_BOOK_SYSTEM, GROUNDED_INSTRUCTION
from ragtune.testing import FakeEmbedder, FakeGenerator, FakeGenerators

HERON = "The Heron project ships on 14 March. Dana Okafor owns the budget."
KESTREL = "The Kestrel office moves to the fourth floor in February."
GOLD = {"m1": HERON, "m2": KESTREL}
Q1 = QAItem("q1", "Who owns the Heron budget?", ("Dana Okafor",), True, ("m1",), None, 1)
Q2 = QAItem("q2", "Where does the Kestrel office move?", ("the fourth floor",), True, ("m2",), None, 2)
B1 = BehaviourItem("b1", "Cafe Blue is in the centre.", '{"name": "Cafe Blue"}', 3)
B2 = BehaviourItem("b2", "Cafe Red is by the river.", '{"name": "Cafe Red"}', 4)
B3 = BehaviourItem("b3", "Cafe Blue Two is in the centre.", '{"name": "Cafe Blue Two"}', 5)


def grounded(question: str, passage: str) -> str:
    return f"Question: {question}\n\nSources:\n[1] {passage}\n\n{GROUNDED_INSTRUCTION}"


def prompt_for(item: EvalItem, condition: str, tmp_path: Path, pool: list[EvalItem]) -> list[dict]:
    """The messages the harness sends for ``item`` (one shot, so the only other item is the example)."""
    generator = FakeGenerator("x")
    run_condition([item], condition, generator=generator, config=AnswerConfig(), run_dir=tmp_path / condition,
                  gold_texts=GOLD, train=pool, shots=1)
    [messages] = generator.calls
    return messages


QA_PROMPTS = {
    "closed_book": [
        {"role": "system", "content": CLOSED_BOOK_SYSTEM},
        {"role": "user", "content": "Who owns the Heron budget?"},
    ],
    "few_shot": [  # closed-book: the example is a bare question and answer, like the question after it
        {"role": "system", "content": CLOSED_BOOK_SYSTEM},
        {"role": "user", "content": "Where does the Kestrel office move?"},
        {"role": "assistant", "content": "the fourth floor"},
        {"role": "user", "content": "Who owns the Heron budget?"},
    ],
    "oracle": [
        {"role": "user", "content": grounded("Who owns the Heron budget?", HERON)},
    ],
    "oracle+few_shot": [  # grounded: the example has its own numbered source and cites it, like the prompt after it
        {"role": "user", "content": grounded("Where does the Kestrel office move?", KESTREL)},
        {"role": "assistant", "content": "the fourth floor [1]"},
        {"role": "user", "content": grounded("Who owns the Heron budget?", HERON)},
    ],
}

BEHAVIOUR_PROMPTS = {  # the input holds everything: oracle equals closed-book, examples are input → output
    "closed_book": [{"role": "user", "content": "Cafe Blue is in the centre."}],
    "few_shot": [
        {"role": "user", "content": "Cafe Red is by the river."},
        {"role": "assistant", "content": '{"name": "Cafe Red"}'},
        {"role": "user", "content": "Cafe Blue is in the centre."},
    ],
    "oracle": [{"role": "user", "content": "Cafe Blue is in the centre."}],
    "oracle+few_shot": [
        {"role": "user", "content": "Cafe Red is by the river."},
        {"role": "assistant", "content": '{"name": "Cafe Red"}'},
        {"role": "user", "content": "Cafe Blue is in the centre."},
    ],
}


@pytest.mark.parametrize("condition", list(QA_PROMPTS))
def test_the_exact_prompt_of_each_condition_for_a_question(tmp_path, condition):
    assert prompt_for(Q1, condition, tmp_path, [Q1, Q2]) == QA_PROMPTS[condition]


@pytest.mark.parametrize("condition", list(BEHAVIOUR_PROMPTS))
def test_the_exact_prompt_of_each_condition_for_a_behaviour_item(tmp_path, condition):
    assert prompt_for(B1, condition, tmp_path, [B1, B2]) == BEHAVIOUR_PROMPTS[condition]


def test_a_grounded_example_uses_its_own_context_when_it_has_one():
    with_context = QAItem("t1", "What colour is the van?", ("red",), True, (), "The van is red.", 1)
    [shot] = choose_examples(Q1, ExamplePool((with_context,), ()), 1, 0, grounded=True, gold_texts=GOLD)
    assert shot.prompt == ({"role": "user", "content": grounded("What colour is the van?", "The van is red.")},)
    assert shot.reply == "red [1]"


def test_grounded_examples_are_only_questions_whose_passage_is_available():
    bare = QAItem("t-bare", "What is the capital of Norway?", ("Oslo",), True, (), None, 1)
    shots = choose_examples(Q1, ExamplePool((bare, Q2), ()), 3, 0, grounded=True, gold_texts=GOLD)
    assert [s.reply for s in shots] == ["the fourth floor [1]"]
    # closed-book examples need no passage: the bare question is one of them
    bare_shots = choose_examples(Q1, ExamplePool((bare, Q2), ()), 3, 0, grounded=False, gold_texts=GOLD)
    assert sorted(s.reply for s in bare_shots) == ["Oslo", "the fourth floor"]


def test_train_questions_without_any_passage_fall_back_to_grounded_eval_questions():
    bare = QAItem("t-bare", "What is the capital of Norway?", ("Oslo",), True, (), None, 1)
    [shot] = choose_examples(Q1, ExamplePool((bare,), (Q1, Q2)), 1, 0, grounded=True, gold_texts=GOLD)
    assert shot.prompt[0]["content"] == grounded("Where does the Kestrel office move?", KESTREL)
    # closed-book few-shot keeps using the train file as before
    [closed] = choose_examples(Q1, ExamplePool((bare,), (Q1, Q2)), 1, 0, grounded=False, gold_texts=GOLD)
    assert closed.reply == "Oslo"


def test_examples_prefer_questions_on_other_passages():
    same_memo = QAItem("q1b", "When does the Heron project ship?", ("14 March",), True, ("m1",), None, 5)
    for seed in range(10):
        [shot] = choose_examples(Q1, ExamplePool((), (Q1, same_memo, Q2)), 1, seed, grounded=True, gold_texts=GOLD)
        assert shot.reply == "the fourth floor [1]"
    # only when other passages run out does an example share the item's passage
    shots = choose_examples(Q1, ExamplePool((), (Q1, same_memo, Q2)), 2, 0, grounded=True, gold_texts=GOLD)
    assert [s.reply for s in shots] == ["the fourth floor [1]", "14 March [1]"]


def test_a_question_gets_the_examples_most_like_it():
    when = QAItem("w", "When does the Lumen price change?", ("1 May",), True, ("m3",), None, 6)
    who = QAItem("p", "Who chairs the Lumen pricing committee?", ("Ravi Sandoval",), True, ("m3",), None, 7)
    pool = ExamplePool((), (Q1, Q2, when, who))
    item = QAItem("q", "When does the Heron project ship?", ("14 March",), True, ("m1",), None, 8)
    for seed in range(5):
        [shot] = choose_examples(item, pool, 1, seed, grounded=False, gold_texts=GOLD)
        assert shot.reply == "1 May"  # shares "when", "does", "the"; the others share fewer words
    # behaviour items keep a seeded random sample: all of them show the same output format
    picked = {choose_examples(B1, ExamplePool((), (B1, B2, B3)), 1, seed, grounded=False, gold_texts={})[0].reply
              for seed in range(10)}
    assert picked == {B2.output, B3.output}


def test_the_note_says_how_many_train_questions_could_be_grounded():
    bare = QAItem("t-bare", "What is the capital of Norway?", ("Oslo",), True, (), None, 1)
    assert grounded_examples_note([Q2], GOLD) is None
    assert grounded_examples_note([bare, Q2], GOLD).startswith("1 of 2 --train questions have a gold passage")
    assert grounded_examples_note([bare], GOLD).startswith("grounded examples were not available")


def jsonl(path: Path, rows: list[dict]) -> Path:
    return write(path, "\n".join(json.dumps(r) for r in rows) + "\n")


def test_diagnose_evidence_says_when_train_questions_cannot_be_grounded(home, tmp_path):
    corpus = jsonl(tmp_path / "corpus.jsonl", [{"id": k, "text": v} for k, v in GOLD.items()])
    qa = jsonl(tmp_path / "qa.jsonl", [
        {"id": "q1", "question": Q1.question, "answers": list(Q1.answers), "gold_doc_ids": ["m1"]},
        {"id": "q2", "question": Q2.question, "answers": list(Q2.answers), "gold_doc_ids": ["m2"]}])
    train = jsonl(tmp_path / "train.jsonl", [{"id": "t", "question": "Capital of Norway?", "answers": ["Oslo"]}])
    generator = FakeGenerator()
    workspace = Workspace(home, embedder=FakeEmbedder(), generators=FakeGenerators(generator=generator))
    diagnosis, _, _ = workspace.evaluation.diagnose(qa, corpus=corpus, train=train)
    assert any(e.startswith("grounded examples were not available") for e in diagnosis.evidence)
    # the oracle + few-shot prompts carried a grounded eval question as their example, not the bare train one
    ofs = [c for c in generator.calls if len(c) == 3 and c[1]["role"] == "assistant"]
    assert ofs and all(c[1]["content"].endswith("[1]") and "Sources:" in c[0]["content"] for c in ofs)


def test_train_questions_show_their_gold_documents_from_the_corpus(home, tmp_path):
    corpus = jsonl(tmp_path / "corpus.jsonl", [{"id": k, "text": v} for k, v in GOLD.items()])
    qa = jsonl(tmp_path / "qa.jsonl", [{"id": "q1", "question": Q1.question, "answers": ["Dana Okafor"],
                                        "gold_doc_ids": ["m1"]}])
    train = jsonl(tmp_path / "train.jsonl", [{"id": "t", "question": "Which floor for Kestrel?",
                                              "answers": ["fourth"], "gold_doc_ids": ["m2"]}])
    generator = FakeGenerator("x")
    Workspace(home, embedder=FakeEmbedder(), generators=FakeGenerators(generator=generator)).evaluation.evaluate(
        qa, condition="oracle+few_shot", corpus=corpus, train=train)
    [messages] = generator.calls
    assert messages[:2] == [{"role": "user", "content": grounded("Which floor for Kestrel?", KESTREL)},
                            {"role": "assistant", "content": "fourth [1]"}]


@pytest.mark.slow
def test_oracle_plus_few_shot_does_not_collapse_with_the_real_model(home):
    """Issue #16: with bare question → answer examples before a grounded prompt the bundled model replied
    "[1] [1] [2] …" (oracle .825, oracle + few-shot .075 on 40 memo questions). Grounded examples must not make
    the oracle prompt significantly worse: the paired CI of (oracle + few-shot − oracle) reaches 0 or above."""
    from ragtune.evaluate.bootstrap import paired_bootstrap_diff
    from ragtune.evaluate.harness import primary_score
    from ragtune.models.local import LocalGenerator

    memos = REPO / "examples" / "eval"
    model = LocalGenerator()
    # no retrieval here: any embedder will do
    workspace = Workspace(home, embedder=FakeEmbedder(), generators=lambda config, adapter: model)
    runs = {c: workspace.evaluation.evaluate(memos / "memos_qa.jsonl", condition=c, corpus=memos / "memos_corpus.jsonl", limit=12)
            for c in ("oracle", "oracle+few_shot")}
    items = {i.item_id: i for i in read_eval_items(memos / "memos_qa.jsonl")}
    scores = {c: [primary_score(items[r.item_id], r.metrics) for r in run.items] for c, run in runs.items()}
    assert len(scores["oracle"]) == 12 and sum(scores["oracle"]) / 12 >= 0.5  # the oracle prompt itself works
    replies = [r.prediction for r in runs["oracle+few_shot"].items]
    mean, lo, hi = paired_bootstrap_diff(scores["oracle+few_shot"], scores["oracle"])
    assert hi >= 0, (mean, lo, hi, replies)
    # the collapse's symptom: replies that open with source numbers ("[1] [2] …") instead of an answer
    assert sum(bool(re.match(r"\s*\[\d+\]", r)) for r in replies) < len(replies) / 2, replies
