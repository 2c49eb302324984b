"""Homes for the cost tests. A home with history, built with the fakes: documents synced over two weeks, answers in the audit log, eval runs,
and a registered adapter with its training and evaluation time."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from tests.conftest import write

from ragtune import Workspace
from ragtune.ingest.history import HISTORY
from ragtune.testing import FakeEmbedder, FakeGenerators

MEMOS = [{"id": f"m{i}", "text": f"Project {name} ships on {day} March. {owner} owns the {name} budget."}
         for i, (name, day, owner) in enumerate([("Heron", 14, "Dana Okafor"), ("Kestrel", 2, "Ian Wu"),
                                                  ("Osprey", 21, "Ana Lima"), ("Falcon", 9, "Bo Chen")])]
QA = [{"id": "q1", "question": "Who owns the Heron budget?", "answers": ["Dana Okafor"], "gold_doc_ids": ["m0"]},
      {"id": "q2", "question": "When does Osprey ship?", "answers": ["21 March"], "gold_doc_ids": ["m2"]}]


def jsonl(path: Path, rows: list[dict]) -> Path:
    return write(path, "".join(json.dumps(r) + "\n" for r in rows))


def backdate_history(home: Path, days: float) -> None:
    """Spread the recorded writes over the past ``days`` (the fakes ran them a moment ago)."""
    path = home / HISTORY
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    now = datetime.now(timezone.utc)
    for k, entry in enumerate(lines):
        entry["at"] = (now - timedelta(days=days * (len(lines) - k) / len(lines))).isoformat(timespec="seconds")
    path.write_text("".join(json.dumps(e) + "\n" for e in lines))


def register_adapter(ws: Workspace, tmp_path: Path, training_seconds: float, eval_seconds: float) -> str:
    folder = write(tmp_path / "adapter" / "adapter_config.json", "{}").parent
    record = ws.registry.add("memos", folder, base_model={"id": "fake"}, data={"n_train": 10}, hyperparameters={},
                             training={"seconds": training_seconds, "steps": 10})
    ws.registry.record_metrics(record.id, "eval", {"seconds": eval_seconds, "n": 2})
    return record.id


@pytest.fixture
def busy_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    ws = Workspace(home, embedder=FakeEmbedder(), generators=FakeGenerators())
    corpus = jsonl(tmp_path / "corpus" / "memos.jsonl", MEMOS)
    ws.documents.sync(corpus)
    jsonl(corpus, MEMOS + [{"id": "m9", "text": "Project Wren starts in June."}])  # one document added
    ws.documents.sync(corpus)
    backdate_history(home, days=14)
    for q in QA:
        ws.answers.ask(q["question"])
        ws.answers.ask(q["question"], retrieval=False)
    qa = jsonl(tmp_path / "qa.jsonl", QA)
    for condition in ("closed_book", "few_shot", "retrieval"):
        ws.evaluation.evaluate(qa, condition=condition)
    register_adapter(ws, tmp_path, training_seconds=5400, eval_seconds=1800)
    return home
