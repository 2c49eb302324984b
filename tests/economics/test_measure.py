"""Measurements from a home: every figure comes from a record, and says how many it rests on."""

from __future__ import annotations

import json
import math

import pytest

from ragtune.audit.log import AuditLog
from ragtune.economics.measure import measure, resolve


def test_an_empty_home_measures_nothing_and_writes_nothing(tmp_path):
    home = tmp_path / "home"
    m = measure(home)
    assert m.samples == {} and m.queries_per_day is None and m.training_hours is None
    assert m.retrain_every_days is None and m.corpus_chunks is None
    assert not home.exists()  # no audit log or folder created by a cost estimate


def test_a_busy_home_measures_tokens_volume_training_and_change_rate(busy_home):
    m = measure(busy_home)
    bodies = [r.body for r in AuditLog(busy_home / "audit.sqlite").list(limit=100)]
    grounded = [b["tokens"] for b in bodies if b["retrieval"] is not None]
    # grounded: the mean of 2 audit records and 2 eval items (retrieval condition)
    items = [json.loads(line) for p in (busy_home / "runs").rglob("items.jsonl")
             for line in p.read_text().splitlines()]
    eval_grounded = [i["tokens"] for i in items if i["condition"] == "retrieval"]
    every = grounded + eval_grounded
    sample = m.samples["grounded"]
    assert sample.token_records == (2, 2)
    assert sample.prompt == pytest.approx(sum(t["prompt"] for t in every) / 4)
    assert sample.context == pytest.approx(sum(t["context"] for t in every) / 4) and sample.context > 0
    assert m.samples["closed_book"].token_records == (2, 2) and m.samples["few_shot"].token_records == (0, 2)
    assert m.answer_records == 4 and m.queries_per_day == pytest.approx(4.0)  # all today: counted over one day
    assert m.training_hours == pytest.approx(1.5) and m.eval_hours == pytest.approx(0.5) and m.adapters == 1
    # 4 documents loaded, then 1 added over 14 days: 1/14 a day of 5 → 10% changes after 14 days
    assert m.corpus_documents == 5 and m.history_entries == 2
    assert m.documents_changed_per_day == pytest.approx(1 / 14, rel=1e-3)
    assert m.retrain_every_days == pytest.approx(0.10 / ((1 / 14) / 5), rel=1e-3)
    assert m.changes_by_source == {"memos": 1}
    assert m.embed_seconds_per_chunk is not None and m.chunks_changed_per_day == pytest.approx(1 / 14, rel=1e-3)


def test_given_numbers_win_and_say_what_was_measured(busy_home):
    m = measure(busy_home)
    inputs, prov = resolve(m, {"training_hours": 3.0}, ("prompt", "rag", "finetune"))
    assert inputs.training_hours == 3.0
    assert prov["training_hours"].status == "given" and "measured: 1.5" in prov["training_hours"].detail
    assert prov["eval_hours"].status == "measured" and prov["eval_hours"].n == 1
    # the prompted option sends the few-shot prompt; fine-tuning (no adapter answers yet) the closed-book one
    assert inputs.prompt_tokens["prompt"] == pytest.approx(m.samples["few_shot"].prompt)
    assert "few_shot: 2 eval items" in prov["prompt_tokens.prompt"].detail
    assert "standing in for adapter" in prov["prompt_tokens.finetune"].detail
    assert inputs.prompt_tokens["rag"] == pytest.approx(m.samples["grounded"].prompt - m.samples["grounded"].context)


def test_a_history_shorter_than_a_day_gives_no_change_rate(tmp_path):
    from tests.conftest import write

    from ragtune import Workspace
    from ragtune.testing import FakeEmbedder

    ws = Workspace(tmp_path / "home", embedder=FakeEmbedder())
    docs = tmp_path / "docs"
    write(docs / "a.md", "Heron ships in March.\n")
    ws.documents.sync(docs)
    ws.documents.sync(docs)
    m = measure(tmp_path / "home")
    assert m.history_entries == 2 and m.retrain_every_days is None and m.embed_seconds_per_chunk is not None
    assert m.corpus_chunks == 1


def test_an_unchanging_corpus_never_needs_retraining(tmp_path):
    from tests.conftest import write
    from tests.economics.homes import backdate_history

    from ragtune import Workspace
    from ragtune.testing import FakeEmbedder

    ws = Workspace(tmp_path / "home", embedder=FakeEmbedder())
    docs = tmp_path / "docs"
    write(docs / "a.md", "Heron ships in March.\n")
    ws.documents.sync(docs)
    ws.documents.sync(docs)
    backdate_history(tmp_path / "home", days=10)
    assert math.isinf(measure(tmp_path / "home").retrain_every_days)
