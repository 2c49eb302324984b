"""A real `ragtune serve` subprocess (two uvicorn workers, the fake models of ``ragtune.testing`` selected by the
test-only RAGTUNE_TESTING_FAKE_MODELS), driven by the official ``openai`` client, plain and streamed; and the
refusal to serve a non-loopback address without keys."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tests.cli.test_cli import assert_user_error, ragtune
from tests.conftest import write
from tests.serving import fake_models_env, free_port, stop, wait_healthy

from ragtune import Workspace
from ragtune.testing import FakeEmbedder, FakeGenerators


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve")
    home = root / "home"
    ws = Workspace(home, embedder=FakeEmbedder(), generators=FakeGenerators())
    ws.documents.ingest([write(root / "docs" / "heron.md", "Project Heron ships on 14 March.\n")], groups=["eng"])
    ws.documents.ingest([write(root / "hr" / "pay.md", "Payroll secret zebra-42 ships quarterly.\n")],
                        groups=["hr"])
    key = ws.keys.create("eng").key
    port = free_port()
    log_path = root / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "ragtune.cli.main", "--home", str(home), "serve", "--port",
                                 str(port), "--workers", "2"], stdout=log, stderr=subprocess.STDOUT, env=fake_models_env(),
                                cwd=root, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc, log=log_path)
        yield {"base": base, "key": key, "log": log_path}
    finally:
        stop(proc)


def client(served):
    from openai import OpenAI

    return OpenAI(base_url=served["base"] + "/v1", api_key=served["key"], max_retries=0, timeout=60)


def test_the_openai_client_gets_a_cited_answer(served):
    completion = client(served).chat.completions.create(
        model="default", messages=[{"role": "user", "content": "Project Heron ships when?"}], max_tokens=64)
    assert "14 March" in completion.choices[0].message.content
    extra = completion.model_extra["ragtune"]
    assert extra["citations"][0]["doc_id"] == "heron/heron.md" and extra["audit_id"]
    assert extra["citations"][0]["quote"] == "Project Heron ships on 14 March."


def test_the_openai_client_streams_tokens_then_citations(served):
    stream = client(served).chat.completions.create(
        model="default", messages=[{"role": "user", "content": "Project Heron ships when?"}], stream=True)
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "14 March" in text and sum(1 for c in chunks if c.choices and c.choices[0].delta.content) > 3
    final = chunks[-1]
    assert final.choices[0].finish_reason == "stop"
    assert final.model_extra["ragtune"]["citations"][0]["doc_id"] == "heron/heron.md"


def test_the_server_keeps_other_groups_out_and_keys_out_of_its_log(served):
    from openai import NotFoundError

    answer = client(served).chat.completions.create(
        model="default", messages=[{"role": "user", "content": "Payroll secret ships when?"}])
    assert "zebra" not in answer.model_dump_json()
    with pytest.raises(NotFoundError):
        client(served).chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
    models = [m.id for m in client(served).models.list()]
    assert models[:2] == ["default", "base"]
    log = Path(served["log"]).read_text()
    assert '"POST /v1/chat/completions" 200' in log and served["key"].split("_")[1] in log
    assert served["key"].split("_", 2)[2] not in log and "Authorization" not in log


def test_serving_a_non_loopback_address_needs_a_key(tmp_path):
    home = tmp_path / "home"
    assert_user_error(ragtune(home, "serve", "--host", "0.0.0.0", "--port", str(free_port())), "no API keys",
                      "0.0.0.0")
    assert_user_error(ragtune(home, "serve", "--workers", "0"), "workers")


def test_a_worker_warms_up_the_embedder_for_uploads_and_loads_the_index_before_serving(tmp_path):
    from ragtune.api.server import warm

    ws = Workspace(tmp_path / "home", embedder=FakeEmbedder(), generators=FakeGenerators())
    ws.documents.ingest([write(tmp_path / "docs" / "heron.md", "Project Heron ships on 14 March.\n")])
    warm(ws)
    assert ws.embedder.warmed_up and ws.documents.searcher._state is not None
