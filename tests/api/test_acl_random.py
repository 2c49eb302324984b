"""Randomized access-control check: seeded random documents with random groups, random keys, random routes
(search in every mode, chat plain and streamed, documents list/get, status, uploads and deletes, audit list/get,
replay, metrics, bad requests) — and not one response may carry another group's document id or secret token.

Each document holds a unique secret token. A key may see a document when the document has no groups, shares a
group with the key, or the key is an admin key; the model of who sees what is kept here, from the rule, and every
response is checked against it."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field, replace

import pytest
from fastapi.testclient import TestClient
from tests.conftest import write

from ragtune import Settings, Workspace
from ragtune.api import create_app
from ragtune.api.ratelimit import AuthFailures
from ragtune.config import AnswerConfig, RetrievalConfig
from ragtune.testing import FakeEmbedder, FakeGenerators

GROUPS = ["g0", "g1", "g2", "g3", "g4"]
WORDS = ["budget", "launch", "review", "contract", "owner", "schedule", "vendor", "release", "risk", "team"]


@dataclass
class Doc:
    doc_id: str
    groups: frozenset[str]
    secret: str
    topic: str


@dataclass
class Key:
    role: str
    key: str
    key_id: str
    groups: frozenset[str]
    admin: bool = False


@dataclass
class World:
    rng: random.Random
    client: TestClient
    ws: Workspace
    docs: dict[str, Doc] = field(default_factory=dict)
    keys: list[Key] = field(default_factory=list)
    records: dict[str, str] = field(default_factory=dict)  # audit id -> key id
    checked: int = 0
    uploaded: int = 0

    def sees(self, key: Key, doc: Doc) -> bool:
        return key.admin or not doc.groups or bool(doc.groups & key.groups)

    def hidden(self, key: Key) -> list[Doc]:
        return [d for d in self.docs.values() if not self.sees(key, d)]

    def call(self, key: Key, method: str, path: str, *, named: str | None = None, **kw):
        """A request and the leak check of its response; ``named`` is a document id the request itself names
        (an error message may echo what the caller sent — that tells the caller nothing new)."""
        response = self.client.request(method, path, headers={"Authorization": f"Bearer {key.key}"}, **kw)
        self.check(key, response.text, named)
        return response

    def check(self, key: Key, text: str, named: str | None = None) -> None:
        """The leak check every response goes through."""
        self.checked += 1
        if named is not None:
            text = text.replace(named, "<named>")
        for doc in self.hidden(key):
            assert doc.secret not in text, (key.role, doc.doc_id, text[:400])
            assert doc.doc_id not in text, (key.role, doc.doc_id, text[:400])


def doc_text(rng: random.Random, secret: str, topic: str) -> str:
    body = " ".join(rng.choice(WORDS) for _ in range(12))
    return f"# Note {topic}\n\nThe {topic} {body}. Code {secret} is confidential.\n"


def build(tmp_path, exact_max: int, seed: int) -> World:
    rng = random.Random(seed)
    settings = replace(Settings(home=tmp_path / "home"), answer=AnswerConfig(min_relevance=0.05),
                       retrieval=RetrievalConfig(exact_max_chunks=exact_max))
    ws = Workspace(settings=settings, embedder=FakeEmbedder(), generators=FakeGenerators())
    client = TestClient(create_app(ws, failures=AuthFailures(limit=10_000)), raise_server_exceptions=False)
    world = World(rng, client, ws)
    for i in range(24):
        groups = frozenset(rng.sample(GROUPS, rng.choice([0, 1, 1, 1, 2])))
        secret, topic = f"zq{seed}x{i:03d}secret", f"topic{i:03d}"
        source = f"src{i:03d}"
        path = write(tmp_path / source / f"doc{i:03d}.md", doc_text(rng, secret, topic))
        ws.documents.ingest([path], source=source, groups=sorted(groups))
        world.docs[f"{source}/doc{i:03d}.md"] = Doc(f"{source}/doc{i:03d}.md", groups, secret, topic)
    for i in range(6):
        groups = frozenset(rng.sample(GROUPS, rng.choice([0, 1, 2, 3])))
        created = ws.keys.create(sorted(groups), name=f"user{i}")
        world.keys.append(Key(f"user{i}", created.key, created.api_key.id, groups))
    admin = ws.keys.create(admin=True)
    world.keys.append(Key("admin", admin.key, admin.api_key.id, frozenset(), admin=True))
    return world


# ---- the operations ------------------------------------------------------------------------------------------

def query_words(world: World) -> str:
    rng = world.rng
    words = rng.sample(WORDS, 2)
    doc = rng.choice(list(world.docs.values()))
    words.append(doc.topic)
    if rng.random() < 0.5:
        words.append(doc.secret)  # a query naming another group's secret must still find nothing of it
    return " ".join(words)


def op_search(world: World, key: Key) -> None:
    mode = world.rng.choice(["hybrid", "bm25", "dense"])
    query = query_words(world)
    response = world.client.post("/v1/search", json={"query": query, "mode": mode, "k": world.rng.randint(1, 30)},
                                  headers={"Authorization": f"Bearer {key.key}"})
    assert response.status_code == 200, response.text
    body = response.json()
    world.check(key, json.dumps(body["results"]))  # the echoed query may name a secret; the results may not
    assert all(world.sees(key, world.docs[r["doc_id"]]) for r in body["results"])
    visible_chunks = sum(1 for d in world.docs.values() if world.sees(key, d))
    if mode == "dense":  # dense ranks every chunk: top-k is full whenever k visible chunks exist
        assert len(body["results"]) == min(body["k"], visible_chunks)


def op_chat(world: World, key: Key) -> None:
    question = " ".join(world.rng.sample(WORDS, 3) + [world.rng.choice(list(world.docs.values())).topic]) + "?"
    stream = world.rng.random() < 0.3
    response = world.call(key, "POST", "/v1/chat/completions",
                          json={"messages": [{"role": "user", "content": question}], "stream": stream})
    assert response.status_code == 200, response.text
    if stream:
        final = [json.loads(e[6:]) for e in response.text.split("\n\n") if e.startswith("data: {")][-1]
        extra = final["ragtune"]
    else:
        extra = response.json()["ragtune"]
    assert all(world.sees(key, world.docs[c["doc_id"]]) for c in extra["citations"])
    world.records[extra["audit_id"]] = key.key_id
    body = world.ws.audit.get(extra["audit_id"]).body
    assert body["api_key_id"] == key.key_id
    assert all(world.sees(key, world.docs[r["doc_id"]]) for r in body["retrieved"])


def op_list(world: World, key: Key) -> None:
    listed = {d["id"] for d in world.call(key, "GET", "/v1/documents").json()["documents"]}
    assert listed == {d.doc_id for d in world.docs.values() if world.sees(key, d)}
    status = world.call(key, "GET", "/v1/status").json()
    assert status["documents"] == len(listed)


def op_get(world: World, key: Key) -> None:
    doc = world.rng.choice(list(world.docs.values()))
    response = world.call(key, "GET", f"/v1/documents/{doc.doc_id}", named=doc.doc_id)
    assert response.status_code == (200 if world.sees(key, doc) else 404)


def op_upload(world: World, key: Key) -> None:
    rng = world.rng
    held = sorted(key.groups) if not key.admin else GROUPS
    groups = frozenset(rng.sample(held, min(len(held), rng.choice([0, 1, 2]))))
    world.uploaded += 1
    n = world.uploaded
    secret, topic, name = f"zqup{n:03d}secret", f"topic{n:03d}", f"up{n:03d}.md"
    response = world.call(key, "POST", "/v1/documents", data={"groups": ",".join(sorted(groups))},
                          files={"file": (name, doc_text(rng, secret, topic).encode(), "text/markdown")})
    assert response.status_code == 201, response.text
    stored = frozenset(response.json()["groups"])
    assert stored == (groups or (key.groups if not key.admin else frozenset()))
    world.docs[f"uploads/{name}"] = Doc(f"uploads/{name}", stored, secret, topic)


def op_delete(world: World, key: Key) -> None:
    uploads = [d for d in world.docs.values() if d.doc_id.startswith("uploads/")]
    if not uploads:
        return
    doc = world.rng.choice(uploads)
    response = world.call(key, "DELETE", f"/v1/documents/{doc.doc_id}", named=doc.doc_id)
    if not world.sees(key, doc):
        assert response.status_code == 404
    elif key.admin or doc.groups <= key.groups:
        assert response.status_code == 200
        del world.docs[doc.doc_id]
    else:
        assert response.status_code == 403


def op_regroup(world: World, key: Key) -> None:
    """An administrator re-ingests a document under new groups (a key may lose sight of what it saw)."""
    doc = world.rng.choice([d for d in world.docs.values() if not d.doc_id.startswith("uploads/")])
    groups = frozenset(world.rng.sample(GROUPS, world.rng.choice([0, 1, 2])))
    source = world.ws.documents.store.get_document(doc.doc_id).source_path
    world.ws.documents.ingest([source], source=doc.doc_id.split("/")[0], groups=sorted(groups))
    world.docs[doc.doc_id] = replace(doc, groups=groups)


def readable(world: World, key: Key, record_id: str) -> bool:
    """A key reads (and replays) its own records while it can see every document they retrieved; admin: all."""
    if key.admin:
        return True
    retrieved = [r["doc_id"] for r in world.ws.audit.get(record_id).body["retrieved"]]
    return world.records[record_id] == key.key_id and all(d in world.docs and world.sees(key, world.docs[d])
                                                           for d in retrieved)


def op_audit(world: World, key: Key) -> None:
    records = world.call(key, "GET", "/v1/audit", params={"limit": 500}).json()["records"]
    assert key.admin or all(r["api_key_id"] == key.key_id for r in records)
    assert {r["id"] for r in records} == {i for i in world.records if readable(world, key, i)}
    if world.records:
        record_id = world.rng.choice(list(world.records))
        response = world.call(key, "GET", f"/v1/audit/{record_id}")
        assert response.status_code == (200 if readable(world, key, record_id) else 404)


def op_replay(world: World, key: Key) -> None:
    if not world.records:
        return
    record_id = world.rng.choice(list(world.records))
    response = world.call(key, "POST", f"/v1/audit/{record_id}/replay")
    assert response.status_code == (200 if readable(world, key, record_id) else 404), response.text


def op_metrics(world: World, key: Key) -> None:
    response = world.call(key, "GET", "/metrics")
    assert response.status_code == (200 if key.admin else 403)


def op_errors(world: World, key: Key) -> None:
    doc = world.rng.choice(list(world.docs.values()))
    for method, path, kw in [("GET", f"/v1/documents/{doc.doc_id}x", {}), ("POST", "/v1/search", {"json": {}}),
                             ("POST", f"/v1/audit/{doc.doc_id}/replay", {}), ("GET", f"/v1/diagnose/{doc.topic}", {}),
                             ("POST", "/v1/chat/completions", {"json": {"model": doc.doc_id, "messages": [
                                 {"role": "user", "content": "x"}]}})]:
        response = world.call(key, method, path, named=doc.doc_id, **kw)
        assert 400 <= response.status_code < 500


OPS = [(op_search, 30), (op_chat, 12), (op_list, 8), (op_get, 14), (op_upload, 3), (op_delete, 2), (op_audit, 6),
       (op_replay, 4), (op_regroup, 2), (op_metrics, 2), (op_errors, 1)]


@pytest.mark.parametrize("exact_max,steps,seed", [(100_000, 1000, 12), (0, 200, 13)], ids=["exact", "indexed"])
def test_no_response_leaks_another_groups_documents(tmp_path, exact_max, steps, seed):
    world = build(tmp_path, exact_max, seed)
    assert world.ws.documents.store.uses_native_indexes() is (exact_max == 0)
    ops, weights = zip(*OPS)
    counts: dict[str, int] = {}
    for _ in range(steps):
        key = world.rng.choice(world.keys)
        op = world.rng.choices(ops, weights)[0]
        op(world, key)
        counts[op.__name__] = counts.get(op.__name__, 0) + 1
    assert world.checked >= steps and set(counts) == {op.__name__ for op in ops}, counts
    # the keys really differed in what they saw (a world where everyone sees everything would prove nothing)
    assert len({frozenset(d.doc_id for d in world.hidden(k)) for k in world.keys}) >= 4
