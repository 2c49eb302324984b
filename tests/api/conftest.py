"""Shared by the API tests: a workspace with the fake models, three documents in three access situations, keys
for each kind of caller, and an in-process client of the real app."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.conftest import write

from ragtune import Settings, Workspace
from ragtune.api import create_app
from ragtune.api.ratelimit import AuthFailures
from ragtune.config import AnswerConfig
from ragtune.testing import FakeEmbedder, FakeGenerators

HERON = "# Plans\n\nProject Heron ships on 14 March. The budget owner is Dana Okafor.\n"
PAYROLL = "# Payroll\n\nThe payroll review happens every October. The payroll lead is Omar Diallo.\n"
HANDBOOK = "# Handbook\n\nEveryone gets a badge on the first day. Lunch is served at noon.\n"


@dataclass
class Api:
    client: TestClient
    workspace: Workspace
    keys: dict[str, str]  # role -> full key
    ids: dict[str, str]  # role -> key id

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def get(self, role: str, path: str, **kw):
        return self.client.get(path, headers=self.headers(role), **kw)

    def post(self, role: str, path: str, **kw):
        return self.client.post(path, headers=self.headers(role), **kw)

    def delete(self, role: str, path: str, **kw):
        return self.client.delete(path, headers=self.headers(role), **kw)


def make_workspace(home: Path, docs: Path) -> Workspace:
    # the fake embedder's cosines are low for short questions: a lower bar lets the fake reader answer
    settings = replace(Settings(home=home), answer=AnswerConfig(min_relevance=0.1))
    ws = Workspace(settings=settings, embedder=FakeEmbedder(), generators=FakeGenerators())
    ws.documents.ingest([write(docs / "eng" / "heron.md", HERON)], source="eng", groups=["eng"])
    ws.documents.ingest([write(docs / "hr" / "payroll.md", PAYROLL)], source="hr", groups=["hr"])
    ws.documents.ingest([write(docs / "all" / "handbook.md", HANDBOOK)], source="all")
    return ws


def make_keys(ws: Workspace) -> tuple[dict[str, str], dict[str, str]]:
    made = {"eng": ws.keys.create("eng", name="eng-user"), "hr": ws.keys.create("hr", name="hr-user"),
            "admin": ws.keys.create(admin=True, name="root"), "none": ws.keys.create(name="no-groups")}
    return {r: c.key for r, c in made.items()}, {r: c.api_key.id for r, c in made.items()}


@pytest.fixture
def api(tmp_path) -> Api:
    ws = make_workspace(tmp_path / "home", tmp_path / "docs")
    keys, ids = make_keys(ws)
    app = create_app(ws, failures=AuthFailures(limit=5, window=60))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, ws, keys, ids)
