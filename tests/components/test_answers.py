"""ragtune.Index.ask with the fake embedder and generator: grounded answers, abstention paths, audit records."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from tests.conftest import write

from ragtune import Settings, Workspace
from ragtune.config import AnswerConfig, GeneratorConfig
from ragtune.errors import AuditError, InputError, ModelError
from ragtune.testing import FakeEmbedder, FakeGenerator, FakeGenerators

MEMO = ("# Project Heron\n\nProject Heron ships on 14 March. The budget owner is Dana Okafor.\n\n"
        "## Risks\n\nThe main risk is the vendor contract for the sensor array.\n")


def make_index(home: Path, tmp_path: Path, generator=None, **answer) -> Workspace:
    settings = replace(Settings(home=home), answer=AnswerConfig(**answer) if answer else AnswerConfig())
    generators = FakeGenerators(generator=generator) if generator else FakeGenerators()
    index = Workspace(settings=settings, embedder=FakeEmbedder(), generators=generators)
    index.documents.ingest([write(tmp_path / "docs" / "heron.md", MEMO)])
    return index


def test_a_grounded_answer_cites_the_sentence_it_came_from(home, tmp_path):
    index = make_index(home, tmp_path)
    answer = index.answers.ask("Who is the budget owner of Project Heron?")
    assert not answer.abstained and "Dana Okafor" in answer.answer and "[" not in answer.answer
    (c,) = answer.citations
    doc = index.documents.document(c.doc_id)
    assert doc.text[c.start : c.end] == c.quote and "Dana Okafor" in c.quote
    assert c.doc_version == doc.version
    data = answer.to_json()
    assert {"answer", "abstained", "citations", "audit_id"} <= set(data)
    assert {"n", "doc_id", "doc_version", "start", "end", "quote"} <= set(data["citations"][0])


def test_nothing_relevant_means_abstaining_without_calling_the_model(home, tmp_path):
    generator = FakeGenerator()
    index = make_index(home, tmp_path, generator, min_relevance=0.99)
    answer = index.answers.ask("What is the capital of Mongolia?")
    assert answer.abstained and answer.abstain_reason == "no_relevant_sources"
    assert answer.answer == "Not in the documents." and generator.calls == []


def test_the_model_saying_it_is_not_in_the_documents_is_an_abstention(home, tmp_path):
    index = make_index(home, tmp_path, FakeGenerator("Not in the documents."))
    answer = index.answers.ask("When does Project Heron ship?")
    assert answer.abstained and answer.abstain_reason == "model_abstained" and answer.citations == []


def test_an_answer_its_sources_do_not_support_is_withheld(home, tmp_path):
    index = make_index(home, tmp_path, FakeGenerator("The launch is on Mars in 2090 [1]."))
    answer = index.answers.ask("When does Project Heron ship?")
    assert answer.abstained and answer.abstain_reason == "unsupported"
    assert answer.raw_answer == "The launch is on Mars in 2090 [1]."


def test_garbage_from_the_model_never_crashes(home, tmp_path):
    for reply in ["", "[99] [0] [-1] ]]][[", "\x00\x01", "[1" * 50]:
        index = make_index(home / reply.encode().hex()[:8], tmp_path, FakeGenerator(reply))
        answer = index.answers.ask("When does Project Heron ship?")
        assert answer.abstained


def test_closed_book_uses_the_same_model_without_sources(home, tmp_path):
    generator = FakeGenerator("Sometime in spring.")
    index = make_index(home, tmp_path, generator)
    answer = index.answers.ask("When does Project Heron ship?", retrieval=False)
    assert answer.answer == "Sometime in spring." and answer.hits == [] and answer.retrieval is None
    assert "Sources:" not in generator.calls[-1][-1]["content"]


def test_streaming_tokens_reach_the_callback(home, tmp_path):
    index = make_index(home, tmp_path)
    pieces: list[str] = []
    answer = index.answers.ask("Who is the budget owner?", on_token=pieces.append)
    assert "".join(pieces).strip() == answer.raw_answer


def test_every_answer_is_audited_with_what_produced_it(home, tmp_path):
    index = make_index(home, tmp_path)
    answer = index.answers.ask("Who is the budget owner?", k=2)
    record = index.audit.get(answer.audit_id)
    body = record.body
    assert body["question"] == "Who is the budget owner?" and body["answer"] == answer.answer
    assert body["retrieval"]["k"] == 2 and body["store_version"] == index.documents.store.version()
    assert body["retrieved"][0]["doc_version"] == index.documents.document("heron/heron.md").version
    assert "Sources:" in body["prompt"][-1]["content"]
    assert body["model"]["model_id"] == "default" and body["generation"]["temperature"] == 0.0
    assert "total" in body["latency_ms"] and body["citations"] == [c.to_json() for c in answer.citations]


def test_an_empty_question_is_a_user_error(home, tmp_path):
    with pytest.raises(InputError, match="question is empty"):
        make_index(home, tmp_path).answers.ask("  ")


def test_replay_is_identical_even_after_the_document_changed(home, tmp_path):
    index = make_index(home, tmp_path)
    answer = index.answers.ask("Who is the budget owner?")
    write(tmp_path / "docs" / "heron.md", MEMO.replace("Dana Okafor", "Lee Park"))
    index.documents.ingest([tmp_path / "docs" / "heron.md"])
    assert "Lee Park" in index.answers.ask("Who is the budget owner?").answer  # the live index moved on
    result = index.answers.replay(answer.audit_id)
    assert result.identical and result.replayed_answer == answer.answer and "Dana Okafor" in answer.answer


@pytest.mark.parametrize("recorded_fusion", ["rrf", "zscore"])
def test_replay_fuses_the_way_the_record_says(home, tmp_path, monkeypatch, recorded_fusion):
    index = make_index(home, tmp_path)
    index = Workspace(settings=replace(index.settings, retrieval=replace(index.settings.retrieval,
                                                                         fusion=recorded_fusion)),
                      embedder=index.embedder, generators=index.generators)
    answer = index.answers.ask("Who is the budget owner?")
    assert index.audit.get(answer.audit_id).body["retrieval"]["fusion"] == recorded_fusion
    other = "rrf" if recorded_fusion == "zscore" else "zscore"
    later = Workspace(settings=replace(index.settings, retrieval=replace(index.settings.retrieval, fusion=other)),
                      embedder=index.embedder, generators=index.generators)
    used = []
    searcher_at = later.documents.searcher_at
    monkeypatch.setattr(later.documents, "searcher_at", lambda v, config: used.append(config) or searcher_at(v, config))
    assert later.answers.replay(answer.audit_id).identical
    assert [c.fusion for c in used] == [recorded_fusion]


def test_replay_notices_a_different_answer(home, tmp_path):
    index = make_index(home, tmp_path)
    answer = index.answers.ask("Who is the budget owner?")
    # the same model name, different behaviour: replay rebuilds the recorded model and finds the answer changed
    changed = FakeGenerators(generator=FakeGenerator("The budget owner is Dana Okafor, definitely [1]."))
    later = Workspace(settings=index.settings, embedder=index.embedder, generators=changed)
    result = later.answers.replay(answer.audit_id)
    assert result.same_retrieval and not result.same_answer and not result.identical


def test_replay_rebuilds_the_model_the_record_names_not_the_configured_one(home, tmp_path):
    recorded = replace(Settings(home=home), generator=GeneratorConfig(model="model-a"))
    workspace = Workspace(settings=recorded, embedder=FakeEmbedder(), generators=FakeGenerators())
    workspace.documents.ingest([write(tmp_path / "docs" / "heron.md", MEMO)])
    answer = workspace.answers.ask("Who is the budget owner?")
    assert answer.model.model_id == "model-a"

    models = FakeGenerators()
    now = Workspace(settings=replace(recorded, generator=GeneratorConfig(model="model-b")), embedder=FakeEmbedder(),
                    generators=models)
    result = now.answers.replay(answer.audit_id)
    assert [config.model for config, _ in models.requests] == ["model-a"]
    assert result.identical and result.same_model


def test_replay_computes_in_the_precision_the_record_names(home, tmp_path):
    """An answer made in bfloat16 is replayed in bfloat16 (float32 would give other tokens), whatever the
    precision configured now."""
    half = replace(Settings(home=home), generator=GeneratorConfig(dtype="bfloat16"))
    workspace = Workspace(settings=half, embedder=FakeEmbedder(), generators=FakeGenerators())
    workspace.documents.ingest([write(tmp_path / "docs" / "heron.md", MEMO)])
    answer = workspace.answers.ask("Who is the budget owner?")
    body = workspace.audit.get(answer.audit_id).body
    assert body["model"]["dtype"] == "bfloat16" and body["model"]["ref"]["dtype"] == "bfloat16"

    models = FakeGenerators()
    now = Workspace(settings=replace(half, generator=GeneratorConfig()), embedder=FakeEmbedder(), generators=models)
    result = now.answers.replay(answer.audit_id)
    assert [config.dtype for config, _ in models.requests] == ["bfloat16"]
    assert result.identical and result.same_model


def test_replay_says_so_when_the_recorded_model_is_not_what_it_was(home, tmp_path):
    workspace = make_index(home, tmp_path)
    answer = workspace.answers.ask("Who is the budget owner?")
    swapped = FakeGenerators(generator=FakeGenerator(model_id="some-other-weights"))
    result = Workspace(settings=workspace.settings, embedder=FakeEmbedder(), generators=swapped).answers.replay(
        answer.audit_id)
    assert not result.same_model and not result.identical


def test_replay_refuses_a_log_that_does_not_verify_before_building_any_model(home, tmp_path):
    index = make_index(home, tmp_path)
    answer = index.answers.ask("Who is the budget owner?")
    db = sqlite3.connect(str(index.audit.path), isolation_level=None)
    db.execute("UPDATE records SET body = replace(body, 'budget owner', 'owner') WHERE id = ?", (answer.audit_id,))
    models = FakeGenerators()
    later = Workspace(settings=index.settings, embedder=FakeEmbedder(), generators=models)
    with pytest.raises(AuditError, match="does not verify") as refused:
        later.answers.replay(answer.audit_id)
    assert refused.value.exit_code == 3 and "\n" not in str(refused.value) and models.requests == []


def server_settings(home: Path, base_url: str) -> Settings:
    return replace(Settings(home=home), generator=GeneratorConfig(model="m", base_url=base_url, api_key="sk-secret"))


def test_replay_never_sends_the_api_key_to_an_endpoint_taken_from_the_record(home, tmp_path):
    # an answer recorded against some other server (or a record rewritten to name one): the configured key must
    # not go there, so nothing is built at all
    recorded = Workspace(settings=server_settings(home, "http://elsewhere.example:8000/v1"),
                         embedder=FakeEmbedder(), generators=FakeGenerators())
    recorded.documents.ingest([write(tmp_path / "docs" / "heron.md", MEMO)])
    answer = recorded.answers.ask("Who is the budget owner?")
    models = FakeGenerators()
    now = Workspace(settings=server_settings(home, "http://127.0.0.1:8000/v1"), embedder=FakeEmbedder(),
                    generators=models)
    with pytest.raises(ModelError, match="elsewhere.example.*configured generator is the server http://127"):
        now.answers.replay(answer.audit_id)
    assert models.requests == []
    local = Workspace(settings=replace(Settings(home=home), generator=GeneratorConfig(api_key="sk-secret")),
                      embedder=FakeEmbedder(), generators=models)
    with pytest.raises(ModelError, match="configured generator is a local model"):
        local.answers.replay(answer.audit_id)
    assert models.requests == []


def test_replay_calls_the_configured_endpoint_with_the_recorded_model(home, tmp_path):
    settings = server_settings(home, "http://127.0.0.1:8000/v1")
    workspace = Workspace(settings=settings, embedder=FakeEmbedder(), generators=FakeGenerators())
    workspace.documents.ingest([write(tmp_path / "docs" / "heron.md", MEMO)])
    answer = workspace.answers.ask("Who is the budget owner?")
    models = FakeGenerators()
    now = replace(settings, generator=replace(settings.generator, model="other", base_url="http://127.0.0.1:8000/v1/"))
    assert Workspace(settings=now, embedder=FakeEmbedder(), generators=models).answers.replay(answer.audit_id).identical
    ((config, adapter),) = models.requests
    assert (config.model, config.base_url, config.api_key, adapter) == (
        "m", "http://127.0.0.1:8000/v1/", "sk-secret", None)


def peft_folder(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "adapter_config.json").write_text("{}")
    return path


def test_replay_refuses_an_adapter_folder_outside_the_registry(home, tmp_path):
    index = make_index(home, tmp_path)
    answer = index.answers.ask("Who is the budget owner?", adapter=peft_folder(tmp_path / "somewhere" / "my-lora"))
    assert index.audit.get(answer.audit_id).body["model"]["ref"]["adapter"].endswith("my-lora")
    models = FakeGenerators()
    later = Workspace(settings=index.settings, embedder=FakeEmbedder(), generators=models)
    with pytest.raises(InputError, match="not a registry adapter"):
        later.answers.replay(answer.audit_id)
    assert models.requests == []


def test_replay_loads_a_registry_adapter_from_the_registry(home, tmp_path):
    index = make_index(home, tmp_path)
    added = index.registry.add("heron", peft_folder(tmp_path / "trained"), base_model={"model": "default"}, data={},
                               hyperparameters={}, training={})
    answer = index.answers.ask("Who is the budget owner?", adapter=added.id)
    models = FakeGenerators()
    result = Workspace(settings=index.settings, embedder=FakeEmbedder(), generators=models).answers.replay(
        answer.audit_id)
    ((_, adapter),) = models.requests
    assert adapter.adapter_id == added.id and adapter.path == added.path and result.identical
    # a record naming a registry id this home does not have is refused too
    (home / "adapters" / added.id / "adapter.json").unlink()
    with pytest.raises(InputError, match="not in this home's registry"):
        index.answers.replay(answer.audit_id)
