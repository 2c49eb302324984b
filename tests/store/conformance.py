"""The store conformance suite: every backend's test class inherits it and provides ``make_store``.

It states what ingestion and retrieval rely on, independent of the backend.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import pytest

from ragtune.store.base import ChunkBatch, DocumentRecord
from ragtune.text import analyze
from ragtune.types import Chunk, Filters

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


class StoreConformance:
    """Subclasses implement ``make_store(tmp_path)`` returning an empty store with ``DIM``-dimensional vectors."""

    def make_store(self, tmp_path):  # pragma: no cover - provided by each backend
        raise NotImplementedError

    @pytest.fixture
    def store(self, tmp_path):
        store = self.make_store(tmp_path)
        yield store
        store.close()

    def test_a_new_store_is_empty(self, store):
        assert store.fingerprints() == {} and store.counts() == (0, 0)
        assert store.get_document("nope") is None

    def test_documents_and_chunks_round_trip(self, store):
        put(store, document("a", "alpha one|alpha two", lang="en"), document("b", "beta"))
        assert store.fingerprints() == {"a": "fp", "b": "fp"}
        assert store.counts() == (2, 3)
        doc = store.get_document("a")
        assert doc.text == "alpha one alpha two" and doc.metadata == {"lang": "en"} and doc.groups == ("staff",)
        rows = store.chunks_by_id(["a#fp-1"]).to_pylist()
        assert rows[0]["text"] == "alpha two" and rows[0]["start"] == 10 and rows[0]["heading_path"] == ["Heading"]

    def test_replacing_a_document_never_duplicates_chunks(self, store):
        put(store, document("a", "one|two|three"))
        put(store, document("a", "uno|dos", fingerprint="fp2"))
        put(store, document("a", "uno|dos", fingerprint="fp2"))  # a re-run after a crash writes the same again
        assert store.counts() == (1, 2)
        assert store.fingerprints() == {"a": "fp2"} and store.document_versions() == {"a": "v-fp2"}
        assert sorted(store.chunk_columns()["text"].to_pylist()) == ["dos", "uno"]

    def test_removing_documents_removes_their_chunks(self, store):
        put(store, document("a", "one|two"), document("b", "three"))
        store.remove_documents(["a"])
        assert store.counts() == (1, 1) and set(store.fingerprints()) == {"b"}

    def test_orphan_cleanup_on_a_consistent_store_removes_nothing(self, store):
        put(store, document("a", "one|two"))
        assert store.remove_orphan_chunks() == 0 and store.counts() == (1, 2)

    def test_stored_vectors_can_be_reused_by_text(self, store):
        doc = document("a", "one|two")
        put(store, doc)
        reusable = store.reusable_vectors(["a"])
        assert len(reusable) == 2 and all(v.shape == (DIM,) for v in reusable.values())
        assert store.reusable_vectors([]) == {}

    def test_every_write_makes_a_new_version(self, store):
        v0 = store.version()
        put(store, document("a", "one"))
        v1 = store.version()
        store.remove_documents(["a"])
        assert v0 < v1 < store.version()

    def test_metadata_filters_tell_an_equals_sign_in_the_key_from_one_in_the_value(self, store):
        # key "a" with value "b=c" and key "a=b" with value "c" both read "a=b=c" when joined with '='
        put(store, document("v", "apples in v", a="b=c"), document("k", "apples in k", **{"a=b": "c"}),
            document("q", "apples in q", **{'a"': '"b'}))
        store.ensure_indexes(exact_max_chunks=0)
        for metadata, wanted in (({"a": "b=c"}, ["v"]), ({"a=b": "c"}, ["k"]), ({"a": "b"}, []),
                                 ({'a"': '"b'}, ["q"]), ({"a": '","b'}, [])):
            lexical = store.search_lexical("apples", 10, Filters(metadata=metadata))
            assert [s.chunk_id.split("#")[0] for s in lexical] == wanted, metadata
            dense = store.search_dense(vectors_for(document("v", "apples in v")[1])[0], 10, Filters(metadata=metadata))
            assert [s.chunk_id.split("#")[0] for s in dense] == wanted, metadata

    def test_native_search_honours_filters(self, store):
        put(store, document("a", "apples and pears", lang="en"), document("b", "apples in french", lang="fr"),
            document("c", "nothing relevant", lang="en"))
        store.ensure_indexes(exact_max_chunks=0)
        assert store.uses_native_indexes()
        lexical = store.search_lexical("apples", 10, Filters(metadata={"lang": "en"}))
        assert [s.chunk_id.split("#")[0] for s in lexical] == ["a"]
        probe = vectors_for(document("b", "apples in french")[1])[0]
        dense = store.search_dense(probe, 10, Filters(path_prefix="src/b"))
        assert [s.chunk_id.split("#")[0] for s in dense] == ["b"]

    def test_documents_list_without_text_and_chunks_come_in_order(self, store):
        put(store, document("b", "three|four|five"), document("a", "one"))
        listed = store.list_documents()
        assert [(d.doc_id, d.n_chunks, d.groups) for d in listed] == [("a", 1, ("staff",)), ("b", 3, ("staff",))]
        assert [c.text for c in store.document_chunks("b")] == ["three", "four", "five"]
        assert store.document_chunks("nope") == []

    def test_native_search_honours_access_groups(self, store):
        def grouped(doc_id: str, groups: tuple[str, ...]):
            record, chunks = document(doc_id, f"apples in {doc_id}")
            return replace(record, groups=groups), chunks

        put(store, grouped("open", ()), grouped("eng", ("eng",)), grouped("both", ("eng", "ops")),
            grouped("ops", ("ops",)))
        store.ensure_indexes(exact_max_chunks=0)
        probe = vectors_for(document("eng", "apples in eng")[1])[0]
        for groups, wanted in ((None, {"open", "eng", "both", "ops"}), (frozenset(), {"open"}),
                               (frozenset({"eng"}), {"open", "eng", "both"}), (frozenset({"x"}), {"open"}),
                               (frozenset({"ops", "x"}), {"open", "both", "ops"})):
            found = store.search_lexical("apples", 10, Filters(groups=groups))
            assert {s.chunk_id.split("#")[0] for s in found} == wanted, groups
            found = store.search_dense(probe, 10, Filters(groups=groups))
            assert {s.chunk_id.split("#")[0] for s in found} == wanted, groups
