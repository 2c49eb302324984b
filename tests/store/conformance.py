"""Helpers of the store conformance suite (tests/store/test_conformance.py): documents, vectors, a backend."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ragtune.config import Settings
from ragtune.store.base import ChunkBatch, DocumentRecord, Store
from ragtune.store.factory import open_store
from ragtune.text import analyze
from ragtune.types import Chunk

DIM = 8


def document(doc_id: str, text: str, fingerprint: str = "fp", **meta: str) -> tuple[DocumentRecord, list[Chunk]]:
    parts = text.split("|")
    chunks, offset = [], 0
    full = " ".join(parts)
    for i, part in enumerate(parts):
        chunks.append(Chunk(f"{doc_id}#{fingerprint}-{i}", doc_id, f"v-{fingerprint}", i, part, offset,
                            offset + len(part), ("Heading",), f"src/{doc_id}", dict(meta)))
        offset += len(part) + 1
    record = DocumentRecord(doc_id, f"v-{fingerprint}", fingerprint, f"src/{doc_id}", doc_id.upper(), full,
                            dict(meta), ("staff",), len(chunks), "2026-01-01T00:00:00+00:00")
    return record, chunks


def vectors_for(chunks: list[Chunk]) -> np.ndarray:
    # seeded by the texts' sha256 (Python's hash() of a str is salted per process, so runs would differ)
    seed = hashlib.sha256("\0".join(c.text for c in chunks).encode()).digest()
    rng = np.random.default_rng(int.from_bytes(seed[:8], "little"))
    v = rng.normal(size=(len(chunks), DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def put(store, *docs: tuple[DocumentRecord, list[Chunk]]) -> None:
    records = [d for d, _ in docs]
    chunks = [c for _, cs in docs for c in cs]
    store.replace_documents(records, ChunkBatch(chunks, vectors_for(chunks), [analyze(c.text) for c in chunks],
                                                {d.doc_id: d.groups for d in records}))


@dataclass(frozen=True)
class Backend:
    """One backend under test: ``store`` is the ``Settings.store`` value naming it ("lance" or a URL)."""

    name: str
    store: str
    home: Path

    def settings(self, home: Path | None = None, **changes) -> Settings:
        return Settings(home=home or self.home, store=self.store, **changes)

    def open(self, version: int | None = None, dim: int = DIM) -> Store:
        return open_store(self.settings(), "test-embedder", dim, version=version)

    def env(self) -> dict[str, str]:
        """Environment for a subprocess that should open the same store."""
        return {"RAGTUNE_STORE": self.store}
