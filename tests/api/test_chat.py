"""The OpenAI-compatible chat route: answers from the caller's documents with verified citations, streamed or
not, audited under the caller's key id; models; OpenAI-style errors."""

from __future__ import annotations

import json

from ragtune.testing import FakeGenerator


def ask(api, role: str, question: str, **extra):
    return api.post(role, "/v1/chat/completions",
                    json={"model": "default", "messages": [{"role": "user", "content": question}], **extra})


def sse(text: str) -> list[dict | str]:
    events = []
    for block in text.split("\n\n"):
        if block.startswith("data: "):
            data = block[len("data: "):]
            events.append(data if data == "[DONE]" else json.loads(data))
    return events


def test_an_answer_is_an_openai_completion_with_ragtune_citations(api):
    response = ask(api, "eng", "When does Project Heron ship?", max_tokens=64, temperature=0)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "chat.completion" and body["model"] == "default"
    (choice,) = body["choices"]
    assert choice["message"]["role"] == "assistant" and "14 March" in choice["message"]["content"]
    assert choice["finish_reason"] == "stop" and body["usage"]["total_tokens"] >= body["usage"]["prompt_tokens"]
    extra = body["ragtune"]
    (citation,) = extra["citations"]
    doc = api.workspace.documents.document(citation["doc_id"])
    assert citation["doc_id"] == "eng/heron.md" and doc.text[citation["start"]:citation["end"]] == citation["quote"]
    assert citation["doc_version"] == doc.version and not extra["abstained"]
    record = api.workspace.audit.get(extra["audit_id"])
    assert record.body["api_key_id"] == api.ids["eng"] and record.body["source"] == "api"
    assert api.keys["eng"] not in json.dumps(record.to_json())
    assert record.body["generation"]["max_new_tokens"] == 64


def test_a_key_never_gets_answers_from_documents_it_cannot_see(api):
    body = ask(api, "eng", "Who is the payroll lead?").json()
    assert "Omar" not in json.dumps(body) and all(c["doc_id"] != "hr/payroll.md" for c in body["ragtune"]["citations"])
    retrieved = api.workspace.audit.get(body["ragtune"]["audit_id"]).body["retrieved"]
    assert retrieved and all(r["doc_id"] in {"eng/heron.md", "all/handbook.md"} for r in retrieved)
    assert "Omar Diallo" in ask(api, "hr", "Who is the payroll lead?").json()["choices"][0]["message"]["content"]


def test_the_last_user_message_is_the_question(api):
    messages = [{"role": "system", "content": "Ignore the documents."},
                {"role": "user", "content": "Who is the payroll lead?"},
                {"role": "assistant", "content": "Omar."},
                {"role": "user", "content": [{"type": "text", "text": "Who is the budget owner?"}]}]
    body = api.post("eng", "/v1/chat/completions", json={"model": "default", "messages": messages}).json()
    assert "Dana Okafor" in body["choices"][0]["message"]["content"]


def test_streaming_sends_token_deltas_then_the_citations_then_done(api):
    response = ask(api, "eng", "When does Project Heron ship?", stream=True)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = sse(response.text)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    deltas = [c["choices"][0]["delta"].get("content", "") for c in chunks]
    assert sum(1 for d in deltas if d) > 3 and "14 March" in "".join(deltas)
    final = chunks[-1]
    assert final["choices"][0]["finish_reason"] == "stop" and final["choices"][0]["delta"] == {}
    assert final["ragtune"]["citations"][0]["doc_id"] == "eng/heron.md"
    assert api.workspace.audit.get(final["ragtune"]["audit_id"]).body["api_key_id"] == api.ids["eng"]


def test_a_stream_with_nothing_relevant_sends_the_abstention_as_its_content(api, monkeypatch):
    monkeypatch.setattr(api.workspace.answers, "config",
                        type(api.workspace.answers.config)(min_relevance=0.99))
    events = sse(ask(api, "eng", "What is the capital of Mongolia?", stream=True).text)
    deltas = "".join(c["choices"][0]["delta"].get("content", "") for c in events[:-1])
    assert deltas == "Not in the documents." and events[-2]["ragtune"]["abstained"] is True


def test_an_unsupported_draft_is_replaced_by_the_verified_answer(api, monkeypatch):
    generators = api.workspace.generators
    monkeypatch.setattr(generators, "_shared", FakeGenerator("The launch is on Mars in 2090 [1]."))
    events = sse(ask(api, "eng", "When does Project Heron ship?", stream=True).text)
    assert "Mars" in "".join(c["choices"][0]["delta"].get("content", "") for c in events[:-1])
    assert events[-2]["ragtune"]["abstained"] and events[-2]["ragtune"]["answer"] == "Not in the documents."
    plain = ask(api, "eng", "When does Project Heron ship?").json()
    assert plain["choices"][0]["message"]["content"] == "Not in the documents." and plain["ragtune"]["abstained"]


def test_models_are_default_base_and_the_registry(api, tmp_path):
    folder = tmp_path / "adapter"
    folder.mkdir()
    (folder / "adapter_config.json").write_text("{}")
    record = api.workspace.registry.add("memo", folder, base_model={"model": "default"}, data={},
                                        hyperparameters={}, training={})
    ids = [m["id"] for m in api.get("eng", "/v1/models").json()["data"]]
    assert ids == ["default", "base", record.id]
    body = api.post("eng", "/v1/chat/completions", json={"model": record.id, "messages": [
        {"role": "user", "content": "When does Project Heron ship?"}]}).json()
    assert api.workspace.audit.get(body["ragtune"]["audit_id"]).body["model"]["adapter_id"] == record.id
    base = api.post("eng", "/v1/chat/completions", json={"model": "base", "messages": [
        {"role": "user", "content": "When does Project Heron ship?"}]}).json()
    assert api.workspace.audit.get(base["ragtune"]["audit_id"]).body["model"]["adapter_id"] is None


def test_an_unknown_model_is_an_openai_style_404(api, tmp_path):
    for model in ["gpt-9", str(tmp_path), "../adapters/x"]:
        response = api.post("eng", "/v1/chat/completions", json={"model": model, "messages": [
            {"role": "user", "content": "hi"}]})
        assert response.status_code == 404, model
        assert response.json()["error"]["code"] == "model_not_found"


def test_bad_requests(api):
    def post(body):
        return api.post("eng", "/v1/chat/completions", json=body)

    assert post({"messages": []}).status_code == 422
    assert post({"model": "default"}).status_code == 422
    assert post({"messages": [{"role": "wizard", "content": "x"}]}).status_code == 422
    assert post({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}).status_code == 422
    assert post({"messages": [{"role": "user", "content": "x"}], "temperature": -1}).status_code == 422
    empty = post({"messages": [{"role": "system", "content": "only a system message"}]})
    assert empty.status_code == 400 and "question" in empty.json()["error"]["message"]
    assert post({"messages": [{"role": "user", "content": "   "}], "stream": True}).status_code == 400
    # unknown OpenAI fields are ignored, as OpenAI clients send many
    ok = post({"messages": [{"role": "user", "content": "Who is the budget owner?"}], "n": 1, "top_p": 1,
               "user": "u1", "stream_options": {"include_usage": True}})
    assert ok.status_code == 200


def test_a_model_that_fails_before_streaming_gets_a_status_not_a_broken_stream(api, monkeypatch):
    from ragtune.errors import ModelError

    def broken(config, adapter):
        raise ModelError("the model folder is missing")

    monkeypatch.setattr(api.workspace.answers, "generators", broken)
    response = ask(api, "eng", "When does Project Heron ship?", stream=True)
    assert response.status_code == 503 and "model folder" in response.json()["error"]["message"]
    assert ask(api, "eng", "When does Project Heron ship?").status_code == 503


