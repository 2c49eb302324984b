"""Which embedder a workspace opens an index with: the one the index was built with, whatever the setting now."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from tests.cli.test_cli import assert_user_error, ragtune
from tests.conftest import write

from ragtune import Settings, Workspace
from ragtune.errors import EmbedderMismatchError, ModelError
from ragtune.testing import FakeEmbedder, FakeGenerators

FLOAT_ID, INT8_ID = "all-MiniLM-L6-v2", "all-MiniLM-L6-v2+onnx-int8"
MEMO = "# Heron\n\nProject Heron ships on 14 March. The budget owner is Dana Okafor.\n"


class NamedFake(FakeEmbedder):
    """The fake embedder recording a real embedder's id, so an index looks as if that model built it."""

    def __init__(self, model_id: str) -> None:
        super().__init__(dim=384)
        self.model_id = model_id


def build(home, tmp_path, model_id: str) -> None:
    Workspace(home, embedder=NamedFake(model_id)).documents.ingest([write(tmp_path / "docs" / "heron.md", MEMO)])


@pytest.mark.parametrize(("built_with", "configured"), [
    (FLOAT_ID, "onnx-int8"), (FLOAT_ID, "auto"), (INT8_ID, "torch"), (INT8_ID, "onnx"), (INT8_ID, "auto")])
def test_an_existing_index_opens_with_the_embedder_it_was_built_with(home, tmp_path, built_with, configured):
    build(home, tmp_path, built_with)
    workspace = Workspace(settings=Settings(home=home, device="cpu", embedder_backend=configured))
    assert workspace.embedder.model_id == built_with
    assert workspace.documents.status().embedder == built_with and workspace.documents.status().documents == 1


def test_a_new_index_gets_the_configured_backend(home):
    assert Workspace(settings=Settings(home=home, device="cpu", embedder_backend="onnx-int8")).embedder.model_id \
        == INT8_ID
    assert Workspace(settings=Settings(home=home, device="cpu", embedder_backend="torch")).embedder.model_id \
        == FLOAT_ID


def test_an_index_of_another_model_still_names_the_embedder_it_needs(home, tmp_path):
    build(home, tmp_path, "some-other-model")
    workspace = Workspace(settings=Settings(home=home, device="cpu"))
    with pytest.raises(EmbedderMismatchError, match="'some-other-model'.*use that embedder or a new --home"):
        workspace.documents.status()


def test_a_bad_backend_flag_is_a_one_line_user_error(home):
    assert_user_error(ragtune(home, "--embedder-backend", "fast", "status"), "embedder_backend 'fast'",
                      "auto, torch, onnx, onnx-int8")


def test_replay_refuses_an_index_searched_with_other_vectors_than_the_record(home, tmp_path):
    generators = FakeGenerators()
    first = Workspace(home, embedder=NamedFake(FLOAT_ID), generators=generators)
    first.documents.ingest([write(tmp_path / "docs" / "heron.md", MEMO)])
    answer = first.answers.ask("Who is the budget owner?")
    assert first.audit.get(answer.audit_id).body["retrieval"]["embedder"] == FLOAT_ID
    assert first.answers.replay(answer.audit_id).identical
    later = Workspace(settings=replace(first.settings), embedder=NamedFake(INT8_ID), generators=generators)
    with pytest.raises(ModelError, match=re.escape(f"retrieved with embedder '{FLOAT_ID}', but this index is searched with '{INT8_ID}'")):
        later.answers.replay(answer.audit_id)


@pytest.mark.slow
def test_a_float_index_keeps_searching_and_replaying_after_the_default_changes(home, tmp_path, monkeypatch):
    """Built and answered with the torch model; opened later with the int8 backend configured: the index's
    float vectors decide (the fast float path opens it), search finds the same chunks and replay is identical."""
    monkeypatch.setenv("RAGTUNE_CACHE", str(tmp_path / "cache"))
    generators = FakeGenerators()
    before = Workspace(settings=Settings(home=home, device="cpu", embedder_backend="torch"), generators=generators)
    before.documents.ingest([write(tmp_path / "docs" / "heron.md", MEMO),
                             write(tmp_path / "docs" / "other.md", "# Lunch\n\nThe canteen serves soup on Fridays.\n")])
    answer = before.answers.ask("Who is the budget owner?")
    hits = [h.chunk.chunk_id for h in before.documents.search("soup on Fridays", mode="dense", k=2).hits]

    after = Workspace(settings=Settings(home=home, device="cpu", embedder_backend="onnx-int8"), generators=generators)
    assert type(after.embedder).__name__ == "OnnxEmbedder" and after.embedder.model_id == FLOAT_ID
    assert [h.chunk.chunk_id for h in after.documents.search("soup on Fridays", mode="dense", k=2).hits] == hits
    assert after.answers.replay(answer.audit_id).identical
