"""LanceDB backend: what is specific to Lance (the shared behaviour is in test_conformance.py)."""

from __future__ import annotations

import json
import os
import time

import pytest
from tests.store.conformance import DIM, document, put

from ragtune.errors import StoreError
from ragtune.store import lance as lance_store
from ragtune.store.lance import LanceStore
from ragtune.store.lance_schema import SCHEMA_VERSION


def test_old_versions_stay_readable_for_audit_replay(tmp_path):
    store = LanceStore(tmp_path / "lance", "test-embedder", DIM)
    put(store, document("a", "first text"))
    pinned = store.version()
    put(store, document("a", "second text", fingerprint="fp2"))
    old = store._chunks.to_lance().checkout_version(pinned).to_table(columns=["text"])["text"].to_pylist()
    assert old == ["first text"]


def test_an_index_built_with_another_embedder_is_refused(tmp_path):
    LanceStore(tmp_path / "lance", "embedder-a", DIM)
    with pytest.raises(StoreError, match="built with embedder 'embedder-a'"):
        LanceStore(tmp_path / "lance", "embedder-b", DIM)


def test_an_index_with_an_older_schema_is_refused_with_what_to_do(tmp_path):
    root = tmp_path / "lance"
    LanceStore(root, "x", DIM)
    manifest = json.loads((root / "ragtune.json").read_text())
    (root / "ragtune.json").write_text(json.dumps({**manifest, "schema": 1}))
    with pytest.raises(StoreError) as info:
        LanceStore(root, "x", DIM)
    message = str(info.value)
    assert f"has schema 1 but this ragtune uses {SCHEMA_VERSION}" in message and "metadata filter" in message
    assert f"delete {root} and run again" in message and "\n" not in message


def test_a_corrupt_manifest_is_a_clear_error(tmp_path):
    (tmp_path / "lance").mkdir()
    (tmp_path / "lance" / "ragtune.json").write_text("{not json")
    with pytest.raises(StoreError, match="unreadable index manifest"):
        LanceStore(tmp_path / "lance", "x", DIM)


class _NoVersion:
    """Stands in for the chunk table where asking LanceDB for the version must not happen."""

    @property
    def version(self):
        raise AssertionError("asked LanceDB for the version")


def _settle(store: LanceStore) -> None:
    """Make the table's last change look older than the settle margin (as if seconds had passed)."""
    old = time.time() - 60
    os.utime(store._versions_dir, (old, old))


def test_the_latest_version_is_remembered_only_while_no_commit_can_have_been_missed(tmp_path):
    reader = LanceStore(tmp_path / "lance", "test-embedder", DIM)
    writer = LanceStore(tmp_path / "lance", "test-embedder", DIM)  # another process's handle
    put(writer, document("a", "first"))
    ahead = time.time() + 30  # changed "after" the check began: the folder's time cannot vouch for a version
    os.utime(reader._versions_dir, (ahead, ahead))
    first = reader.version()
    assert reader._latest is None
    _settle(reader)
    assert reader.version() == first and reader._latest is not None
    table, reader._chunks = reader._chunks, _NoVersion()
    assert reader.version() == first  # nothing changed: no manifest listing
    reader._chunks = table
    put(writer, document("b", "second"))
    assert reader.version() == writer.version() > first  # the commit moved the folder: seen at once



def test_chunks_just_listed_are_taken_by_offset_and_anything_else_is_scanned(tmp_path, monkeypatch):
    store = LanceStore(tmp_path / "lance", "test-embedder", DIM)
    put(store, document("a", "one|two|three"), document("b", "four|five"))
    ids = LanceStore(tmp_path / "lance", "test-embedder", DIM).chunk_ids()
    wanted = [ids[-1], ids[1]]
    by_id = {r["chunk_id"]: r for r in store.chunk_columns(wanted).to_pylist()}  # nothing listed yet: a scan
    assert store.chunk_ids() == ids
    filters: list[str | None] = []
    real_scan = store._scan
    monkeypatch.setattr(store, "_scan", lambda table, columns, where=None: filters.append(where)
                        or real_scan(table, columns, where))
    taken = store.chunk_columns(wanted)
    assert taken.to_pylist() == [by_id[cid] for cid in wanted] and filters == []  # same rows, no scan
    other = LanceStore(tmp_path / "lance", "test-embedder", DIM)
    put(other, document("c", "six"))  # the table moved on: offsets of the listed version no longer apply
    assert sorted(store.chunk_columns(wanted)["chunk_id"].to_pylist()) == sorted(wanted) and len(filters) == 1
    assert store.chunk_ids()[:len(ids)] == ids
    both = ["c#fp-0", ids[0]]
    assert sorted(store.chunk_columns(both)["chunk_id"].to_pylist()) == sorted(both)
    assert len(filters) == 1  # both listed now: taken


def _lookup_index(table):
    return table.index_stats("doc_id_idx")


def _filter_uses_index(table) -> bool:
    plan = table.to_lance().scanner(columns=["doc_id"], filter="doc_id = 'd1'").explain_plan()
    return "ScalarIndexQuery" in plan


def test_documents_are_found_through_a_btree_once_a_table_has_enough_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(lance_store, "_LOOKUP_INDEX_ROWS", 6)
    monkeypatch.setattr(lance_store, "_MAX_FRAGMENTS", 4)  # compactions in between rewrite the indexed rows
    store = LanceStore(tmp_path / "lance", "test-embedder", DIM)
    put(store, *(document(f"d{i}", "x|y", fingerprint="fp") for i in range(5)))  # 5 documents, 10 chunks
    store.ensure_indexes(10**6)
    assert _lookup_index(store._documents) is None and not _filter_uses_index(store._documents)
    assert _lookup_index(store._chunks).num_unindexed_rows == 0 and _filter_uses_index(store._chunks)
    put(store, document("d5", "x|y", fingerprint="fp"))
    store.ensure_indexes(10**6)
    assert _filter_uses_index(store._documents)

    for i in range(6):  # each update writes rows the index has not seen; they are folded in as they add up
        put(store, document(f"d{i}", f"new {i}|text", fingerprint="fp2"))
        put(store, document(f"n{i}", "added"))  # a fragment of its own that stays
        store.ensure_indexes(10**6)
        for table in (store._documents, store._chunks):
            assert _lookup_index(table).num_unindexed_rows < 6
    store.remove_documents(["d1"])

    for table in (store._documents, store._chunks):
        assert len(table.to_lance().get_fragments()) <= 4 + 1
    assert store.get_document("d1") is None and store.get_document("d3").fingerprint == "fp2"
    assert store.fingerprints(doc_ids=["d1", "d2", "d4"]) == {"d2": "fp2", "d4": "fp2"}
    assert store.document_sources(["d0", "d1"]).keys() == {"d0"}
    assert [c.text for c in store.document_chunks("d3")] == ["new 3", "text"]
    assert store.write_state(["d0", "d2"]).inconsistent == set() and store.write_state().inconsistent == set()
    assert store.counts() == (11, 16)


def test_every_read_shares_the_stores_lance_session(tmp_path, monkeypatch):
    """One session per store caches file metadata and opened indexes across the dataset objects of reads
    (each read opens the latest version anew); a dataset opened without it reads them from disk again."""
    store = LanceStore(tmp_path / "lance", "test-embedder", DIM)
    put(store, document("a", "one|two"))
    opened = []
    real = LanceStore._dataset

    def recorded(self, table):
        opened.append(real(self, table))
        return opened[-1]

    monkeypatch.setattr(LanceStore, "_dataset", recorded)
    store.chunk_ids(), store.get_document("a"), store.fingerprints(doc_ids=["a"]), store.document_chunks("a")
    assert len(opened) == 4 and all(d.session().is_same_as(store._session) for d in opened)
