"""The OpenAI-compatible backend against a real HTTP server on 127.0.0.1 (a protocol stub; the llama.cpp server
test below runs when llama-cpp-python is installed, e.g. by `make test-all`)."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
from dataclasses import replace

import pytest
from tests.conftest import write

from ragtune import Settings, Workspace
from ragtune.config import GeneratorConfig
from ragtune.errors import ModelError
from ragtune.models.openai_server import OpenAIServerGenerator
from ragtune.testing import FakeEmbedder
from ragtune.testing.generator import extractive_reply
from ragtune.testing.openai_stub import OpenAIStubServer
from ragtune.types import GenerationParams


def test_generate_and_stream_speak_the_protocol():
    with OpenAIStubServer(lambda messages: "hello from the server") as server:
        generator = OpenAIServerGenerator(server.base_url, "stub-model")
        result = generator.generate([{"role": "user", "content": "hi"}], GenerationParams(max_new_tokens=5, seed=3))
        assert result.text == "hello from the server" and result.completion_tokens == 4
        assert "".join(generator.stream([{"role": "user", "content": "hi"}], GenerationParams())).strip() == (
            "hello from the server")
        sent = server.requests[0]
        assert sent["max_tokens"] == 5 and sent["temperature"] == 0.0 and sent["seed"] == 3
    assert generator.identity.backend == "openai" and generator.identity.model_id == "stub-model"


def test_an_unreachable_server_is_a_clear_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    generator = OpenAIServerGenerator(f"http://127.0.0.1:{port}/v1", "m", timeout=2)
    with pytest.raises(ModelError, match="cannot reach the model server"):
        generator.generate([{"role": "user", "content": "hi"}], GenerationParams())


def test_a_wrong_model_name_is_a_clear_error():
    with OpenAIStubServer(lambda m: "x") as server:
        with pytest.raises(ModelError, match="answered 404"):
            OpenAIServerGenerator(server.base_url, "other").generate([{"role": "user", "content": "q"}],
                                                                   GenerationParams())


def test_ask_through_a_server_answers_with_citations_and_audits_the_backend(home, tmp_path):
    with OpenAIStubServer(extractive_reply) as server:
        settings = replace(Settings(home=home), generator=GeneratorConfig(model="stub-model",
                                                                          base_url=server.base_url))
        index = Workspace(settings=settings, embedder=FakeEmbedder())
        index.documents.ingest([write(tmp_path / "memo.md", "# Memo\n\nThe Falcon launch is on 3 May. Ask Priya.\n")])
        answer = index.answers.ask("When is the Falcon launch?")
        assert not answer.abstained and "3 May" in answer.answer and answer.citations
        model = index.audit.get(answer.audit_id).body["model"]
        assert model["backend"] == "openai" and model["ref"]["base_url"] == server.base_url


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None,
                    reason="llama-cpp-python not installed (make test-all installs it)")
def test_a_real_llama_cpp_server_with_the_bundled_gguf(home, tmp_path):
    from ragtune.models.cache import default_gguf_path

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(default_gguf_path()), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "2048"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        base_url = f"http://127.0.0.1:{port}/v1"
        for _ in range(120):  # bounded wait for start-up
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        generator = OpenAIServerGenerator(base_url, "default")
        out = generator.generate([{"role": "user", "content": "Say hello."}], GenerationParams(max_new_tokens=8))
        assert out.text
        settings = replace(Settings(home=home), generator=GeneratorConfig(model="default", base_url=base_url))
        index = Workspace(settings=settings, embedder=FakeEmbedder())
        index.documents.ingest([write(tmp_path / "memo.md", "# Memo\n\nThe Falcon launch is on 3 May.\n")])
        answer = index.answers.ask("When is the Falcon launch?")
        assert answer.audit_id and (answer.abstained or answer.citations)
    finally:
        server.terminate()
        server.wait(timeout=30)
