"""Every index command through the real CLI (in process, Typer's runner) against PostgreSQL, unchanged: the only
difference from a Lance home is ``--store URL`` (or ``RAGTUNE_STORE``). Fake models stand in for the real ones
(the CLI's workspace is built with them), so no model loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import write
from typer.testing import CliRunner

from ragtune import Workspace
from ragtune.cli.main import app
from ragtune.cli.state import CliState
from ragtune.config import Settings
from ragtune.errors import VersionCollectedError
from ragtune.testing import FakeEmbedder, FakeGenerators

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def fake_models(monkeypatch):
    def workspace(self: CliState) -> Workspace:
        return Workspace(self.home, settings=Settings(store=self.store) if self.store else None,
                         embedder=FakeEmbedder(), generators=FakeGenerators())

    monkeypatch.setattr(CliState, "workspace", workspace)


def run(home: Path, store: str | None, *args: str, env: dict | None = None, code: int = 0) -> dict:
    options = ["--home", str(home)] + (["--store", store] if store else [])
    result = CliRunner().invoke(app, [*options, *args, "--json"], env=env)
    assert result.exit_code == code, (result.output, result.exception)
    return json.loads(result.stdout)


def test_ingest_search_ask_replay_sync_gc_and_sources_against_postgres(postgres_url, tmp_path):
    home = tmp_path / "home"
    corpus = write(tmp_path / "corpus.jsonl", "\n".join(json.dumps(r) for r in [
        {"id": "oxygen", "title": "Oxygen", "text": "Oxygen is a chemical element. Dioxygen makes up the air."},
        {"id": "chicago", "title": "Chicago", "text": "The University of Chicago shaped the Chicago school."},
        {"id": "warsaw", "title": "Warsaw", "text": "Warsaw has sixty museums, among them a Museum of Posters."},
    ]) + "\n")
    report = run(home, postgres_url, "ingest", str(corpus))
    assert (report["added"], report["chunks"]) == (3, 3)

    status = run(home, postgres_url, "status")
    assert status["backend"] == "postgresql" and (status["documents"], status["chunks"]) == (3, 3)
    assert status["server"].startswith("PostgreSQL 18") and "pgvector" in status["server"]
    assert status["store"].startswith(postgres_url) and status["store_version"] == 1
    # RAGTUNE_STORE names the same index
    assert run(home, None, "status", env={"RAGTUNE_STORE": postgres_url})["documents"] == 3
    assert run(tmp_path / "other-home", postgres_url, "status")["documents"] == 3  # shared by any home

    for mode in ("bm25", "dense", "hybrid"):
        results = run(home, postgres_url, "search", "museums in Warsaw", "--mode", mode, "-k", "2")["results"]
        assert results[0]["doc_id"] == "warsaw", mode

    asked = run(home, postgres_url, "ask", "How many museums does Warsaw have?")
    assert asked["retrieved"][0]["doc_id"] == "warsaw" and asked["store_version"] == 1 and asked["audit_id"]

    corpus.write_text(corpus.read_text().replace("sixty museums", "sixty museums and a zoo"))
    synced = run(home, postgres_url, "sync", str(corpus))
    assert (synced["updated"], synced["unchanged"]) == (1, 2)

    # the answer saw version 1: replay searches that version; gc inside the window keeps it, a zero window (no
    # record inside it pins anything) collects it, and replay then says so (exit 3)
    replay = run(home, postgres_url, "audit", "replay", asked["audit_id"])
    assert replay["identical"] and replay["store_version"] == 1
    assert run(home, postgres_url, "gc", "--keep-days", "1")["versions_removed"] == 0
    assert run(home, postgres_url, "audit", "replay", asked["audit_id"])["identical"]
    assert run(home, postgres_url, "gc", "--keep-days", "0")["versions_removed"] == 2  # versions 0 and 1
    result = CliRunner().invoke(app, ["--home", str(home), "--store", postgres_url, "audit", "replay",
                                      asked["audit_id"], "--json"])
    assert isinstance(result.exception, VersionCollectedError) and result.exception.exit_code == 3
    assert "collected" in str(result.exception)

    (source,) = run(home, postgres_url, "sources")["sources"]
    assert (source["name"], source["documents"], source["chunks"]) == ("corpus", 3, 3)
    assert run(home, postgres_url, "sources", "remove", "corpus")["removed"] == 3
    assert run(home, postgres_url, "status")["documents"] == 0


def test_a_bad_store_setting_is_a_user_error(tmp_path):
    result = CliRunner().invoke(app, ["--home", str(tmp_path), "--store", "mysql://x", "status", "--json"])
    assert result.exit_code != 0 and "expected 'lance'" in str(result.exception)
