"""`ragtune ask` and `ragtune audit` through the real CLI with the real bundled models (slow)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from tests.cli.test_cli import assert_user_error, ragtune
from tests.conftest import write

MEMO = """# Orchard Lane office move

The Orchard Lane office moves to the fourth floor of the Kestrel Building on 9 February.
Facilities lead Marta Quillon approved a budget of 48,000 euros for the move.
"""


@pytest.fixture(scope="module")
def asked(tmp_path_factory) -> tuple[Path, Path, dict]:
    root = tmp_path_factory.mktemp("ask")
    home, docs = root / "home", root / "docs"
    write(docs / "move.md", MEMO)
    assert ragtune(home, "ingest", str(docs), "--json").returncode == 0
    result = ragtune(home, "ask", "Who approved the budget for the office move?", "--json")
    assert result.returncode == 0, result.stderr
    return home, docs, json.loads(result.stdout)


@pytest.mark.slow
def test_ask_answers_with_verified_citations(asked):
    home, _, answer = asked
    assert {"answer", "abstained", "citations", "audit_id"} <= set(answer)
    from ragtune import Workspace

    index = Workspace(home)
    for c in answer["citations"]:
        assert {"n", "doc_id", "doc_version", "start", "end", "quote"} <= set(c)
        doc = index.documents.document(c["doc_id"])
        assert doc.text[c["start"] : c["end"]] == c["quote"] and c["doc_version"] == doc.version
    # the memo holds the answer and decoding is greedy: the bundled model must answer, not abstain
    assert not answer["abstained"] and "Quillon" in answer["answer"], answer
    assert any("Marta Quillon" in c["quote"] for c in answer["citations"])


@pytest.mark.slow
def test_the_audit_log_verifies_then_names_the_first_tampered_record(asked, tmp_path):
    home, _, answer = asked
    closed = ragtune(home, "ask", "What is the capital of France?", "--no-retrieval", "--json")
    assert closed.returncode == 0 and json.loads(closed.stdout)["citations"] == []
    verify = json.loads(ragtune(home, "audit", "verify", "--json").stdout)
    assert {"ok": True, "records": 2, "first_bad": None, "reason": None}.items() <= verify.items()
    shown = json.loads(ragtune(home, "audit", "show", answer["audit_id"], "--json").stdout)
    assert shown["question"].startswith("Who approved") and shown["model"]["model_id"] == "SmolLM2-135M-Instruct"
    assert len(shown["model"]["model_hash"]) == 64 and shown["store_version"] >= 1

    import shutil

    tampered_home = tmp_path / "tampered"
    shutil.copytree(home, tampered_home)
    db = sqlite3.connect(str(tampered_home / "audit.sqlite"))
    db.execute("UPDATE records SET body = replace(body, 'Who approved', 'Who denied') WHERE id = ?",
               (answer["audit_id"],))
    db.commit()
    result = ragtune(tampered_home, "audit", "verify", "--json")
    assert result.returncode == 3
    assert json.loads(result.stdout)["first_bad"] == answer["audit_id"]


@pytest.mark.slow
def test_replay_is_identical_after_the_corpus_changed(asked):
    home, docs, answer = asked
    write(docs / "move.md", MEMO.replace("Marta Quillon", "Ivo Brandt"))
    assert json.loads(ragtune(home, "sync", str(docs), "--json").stdout)["updated"] == 1
    replay = ragtune(home, "audit", "replay", answer["audit_id"], "--json")
    assert replay.returncode == 0, replay.stdout + replay.stderr
    data = json.loads(replay.stdout)
    assert data["identical"] and data["replayed_answer"] == answer["answer"]


def test_ask_user_errors(home):
    assert_user_error(ragtune(home, "ask", "   "), "question is empty")
    assert_user_error(ragtune(home, "ask", "x", "-k", "0"), "k=0")
    assert_user_error(ragtune(home, "audit", "show", "nope"), "audit record 'nope' not found")
