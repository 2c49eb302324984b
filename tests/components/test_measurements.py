"""What `ragtune cost` measures is recorded where it happens: tokens in every audit record and eval item, the
index's change history on every write, the evaluation time of a fine-tune."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from tests.conftest import write

from ragtune import Settings, Workspace
from ragtune.generate.answer import token_counts
from ragtune.ingest.history import read_history
from ragtune.testing import FakeEmbedder, FakeGenerators
from ragtune.types import Generation

MEMO = "# Heron\n\nProject Heron ships on 14 March. The budget owner is Dana Okafor.\n"


def workspace(home: Path) -> Workspace:
    return Workspace(settings=Settings(home=home), embedder=FakeEmbedder(), generators=FakeGenerators())


def test_token_counts_split_the_prompt_by_the_sources_share_of_its_characters():
    messages = [{"role": "user", "content": "q" * 25 + "s" * 75}]
    generation = Generation("x", prompt_tokens=40, completion_tokens=7, seconds=0.1)
    assert token_counts(generation, messages, 75) == {"prompt": 40, "context": 30, "completion": 7}
    assert token_counts(generation, messages, 0) == {"prompt": 40, "context": 0, "completion": 7}
    assert token_counts(None, messages, 75) == {"prompt": 0, "context": 0, "completion": 0}  # no call, no tokens
    streamed = replace(generation, prompt_tokens=0, completion_tokens=0, counted=False)
    assert token_counts(streamed, messages, 75) is None  # not counted is not zero


def test_every_answer_record_holds_its_token_counts(home, tmp_path):
    ws = workspace(home)
    ws.documents.ingest([write(tmp_path / "docs" / "heron.md", MEMO)])
    grounded = ws.answers.ask("Who is the budget owner of Project Heron?")
    closed = ws.answers.ask("Who is the budget owner of Project Heron?", retrieval=False)
    body = ws.audit.get(grounded.audit_id).body
    tokens = body["tokens"]
    # the fake counts words: every word of the prompt, the sources' share of it as context
    words = sum(len(m["content"].split()) for m in body["prompt"])
    assert tokens["prompt"] == words and 0 < tokens["context"] < words
    assert tokens["completion"] == len(body["raw_answer"].split())
    closed_tokens = ws.audit.get(closed.audit_id).body["tokens"]
    assert closed_tokens["context"] == 0 and closed_tokens["prompt"] > 0
    streamed = ws.answers.ask("Who is the budget owner of Project Heron?", on_token=lambda _: None)
    assert ws.audit.get(streamed.audit_id).body["tokens"] is None


def test_eval_items_hold_their_token_counts(home, tmp_path):
    ws = workspace(home)
    corpus = write(tmp_path / "c.jsonl", json.dumps({"id": "m1", "text": MEMO}) + "\n")
    qa = write(tmp_path / "qa.jsonl", json.dumps({"id": "q1", "question": "Who is the budget owner of Heron?",
                                                   "answers": ["Dana Okafor"], "gold_doc_ids": ["m1"]}) + "\n")
    retrieval = ws.evaluation.evaluate(qa, condition="retrieval", corpus=corpus)
    closed = ws.evaluation.evaluate(qa, condition="closed_book", corpus=corpus)
    assert retrieval.items[0].tokens["context"] > 0
    assert closed.items[0].tokens["context"] == 0 and closed.items[0].tokens["prompt"] > 0
    saved = json.loads((retrieval.run_dir / "items.jsonl").read_text().splitlines()[0])
    assert saved["tokens"] == retrieval.items[0].tokens


def test_every_write_to_the_index_appends_to_its_change_history(home, tmp_path):
    ws = workspace(home)
    docs = tmp_path / "docs"
    write(docs / "a.md", MEMO)
    write(docs / "b.md", "Kestrel moves in February.\n")
    ws.documents.ingest([docs])
    write(docs / "a.md", MEMO + "\nA new paragraph.\n")
    (docs / "b.md").unlink()
    write(docs / "c.md", "Osprey launches in May.\n")
    ws.documents.sync(docs)
    ws.documents.remove_source("docs")
    first, second, third = read_history(home)
    assert first["kind"] == "ingest" and first["added"] == 2 and first["sources"]["docs"]["added"] == 2
    assert first["documents_after"] == 2 and first["chunks_after"] >= 2 and first["embedded"] >= 2
    assert first["seconds"] >= 0 and first["at"].endswith("+00:00")
    assert second["kind"] == "sync"
    assert second["sources"] == {"docs": {"added": 1, "updated": 1, "removed": 1, "unchanged": 0}}
    assert third["kind"] == "remove" and third["removed"] == 2 and third["documents_after"] == 0


def test_an_unchanged_sync_is_history_too(home, tmp_path):
    """A sync that finds nothing new is evidence the corpus is stable: it is recorded with zero changes."""
    ws = workspace(home)
    docs = tmp_path / "docs"
    write(docs / "a.md", MEMO)
    ws.documents.sync(docs)
    ws.documents.sync(docs)
    assert read_history(home)[-1]["sources"] == {"docs": {"added": 0, "updated": 0, "removed": 0, "unchanged": 1}}


def test_a_damaged_history_line_is_skipped(home, tmp_path):
    ws = workspace(home)
    ws.documents.ingest([write(tmp_path / "docs" / "a.md", MEMO)])
    with (home / "ingest-history.jsonl").open("a") as f:
        f.write('{"at": "2026-01-0')  # a crash mid-line
    assert len(read_history(home)) == 1
