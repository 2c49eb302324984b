"""examples/eval/make_memos.py: the committed memos40 set is what the seeded script writes, and every question is
answered by its own memo and nothing else."""

from __future__ import annotations

import importlib.util
import json
import re
import sys

from tests.conftest import REPO

EVAL = REPO / "examples" / "eval"


def load_script():
    spec = importlib.util.spec_from_file_location("make_memos", EVAL / "make_memos.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_committed_memos40_set_is_reproduced_by_the_script(tmp_path):
    load_script().main(["--memos", "40", "--out-dir", str(tmp_path)])
    for name in ("memos40_qa.jsonl", "memos40_corpus.jsonl"):
        assert (tmp_path / name).read_text() == (EVAL / name).read_text()


def test_each_memo_has_five_facts_and_answers_only_its_own_questions():
    qa, corpus = load_script().make_set(40, seed=3)
    assert len(qa) == 40 and len(corpus) == 40
    texts = {c["id"]: c["text"] for c in corpus}
    for memo in corpus:
        header, *facts = re.split(r"(?<=\.) (?=[A-Z])", memo["text"])
        assert header.startswith("Memo on Project") and len(facts) == 5
    for row in qa:
        [gold] = row["gold_doc_ids"]
        project = re.search(r"Project (\w+)", row["question"]).group(1)
        assert project in texts[gold] and any(a in texts[gold] for a in row["answers"])
        assert sum(project in t for t in texts.values()) == 1  # the question's project names one memo
    assert json.dumps(load_script().make_set(40, seed=3)) == json.dumps((qa, corpus))  # seeded
