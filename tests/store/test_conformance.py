"""The store conformance suite: every test runs on every backend (LanceDB, and PostgreSQL + pgvector on a throwaway
embedded server, marked ``postgres``). It states what ingestion, retrieval, replay and gc rely on; a new backend
adds one parameter to ``backend`` below (and a branch in ``ragtune.store.factory``)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import write
from tests.store.conformance import DIM, Backend, document, put, vectors_for

from ragtune import Workspace
from ragtune.components.documents import DocumentIndex
from ragtune.config import RetrievalConfig
from ragtune.errors import VersionCollectedError
from ragtune.retrieve.searcher import Searcher
from ragtune.store.base import SourceRecord
from ragtune.testing import FakeEmbedder
from ragtune.types import Filters

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture(params=["lance", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request, tmp_path) -> Backend:
    store = "lance" if request.param == "lance" else request.getfixturevalue("postgres_url")
    return Backend(request.param, store, tmp_path / "home")


@pytest.fixture
def store(backend):
    store = backend.open()
    yield store
    store.close()


def ids(scored) -> list[str]:
    return [s.chunk_id.split("#")[0] for s in scored]


# ---- documents and chunks ------------------------------------------------------------------------------------


def test_a_new_store_is_empty(store):
    assert store.fingerprints() == {} and store.counts() == (0, 0)
    assert store.get_document("nope") is None and store.sources() == []


def test_documents_and_chunks_round_trip(store):
    put(store, document("a", "alpha one|alpha two", lang="en"), document("b", "beta"))
    assert store.fingerprints() == {"a": "fp", "b": "fp"}
    assert store.counts() == (2, 3)
    doc = store.get_document("a")
    assert doc.text == "alpha one alpha two" and doc.metadata == {"lang": "en"} and doc.groups == ("staff",)
    rows = store.chunks_by_id(["a#fp-1"]).to_pylist()
    assert rows[0]["text"] == "alpha two" and rows[0]["start"] == 10 and rows[0]["heading_path"] == ["Heading"]
    assert rows[0]["metadata"] == '{"lang": "en"}'
    table = store.chunk_columns()
    assert table.num_rows == 3 and table["vector"].type.list_size == DIM
    assert store.chunks_by_id([]).num_rows == 0


def test_replacing_a_document_never_duplicates_chunks(store):
    put(store, document("a", "one|two|three"))
    put(store, document("a", "uno|dos", fingerprint="fp2"))
    put(store, document("a", "uno|dos", fingerprint="fp2"))  # a re-run after a crash writes the same again
    assert store.counts() == (1, 2)
    assert store.fingerprints() == {"a": "fp2"} and store.document_versions() == {"a": "v-fp2"}
    assert sorted(store.chunk_columns()["text"].to_pylist()) == ["dos", "uno"]
    assert store.write_state().inconsistent == set()


def test_removing_documents_removes_their_chunks(store):
    put(store, document("a", "one|two"), document("b", "three"))
    store.remove_documents(["a"])
    assert store.counts() == (1, 1) and set(store.fingerprints()) == {"b"}
    store.ensure_indexes(0)
    assert store.search_lexical("one", 10, Filters()) == []


def test_the_write_state_of_a_consistent_store(store):
    put(store, document("a", "one|two"), document("b", "three", fingerprint="fp-b"))
    state = store.write_state()
    assert state.fingerprints == {"a": "fp", "b": "fp-b"} and set(state.sources) == {"a", "b"}
    assert state.inconsistent == set() and state.orphans == {}
    assert store.write_state(["b", "nope"]).fingerprints == {"b": "fp-b"}


def test_stored_vectors_can_be_reused_by_text(store):
    doc = document("a", "one|two")
    put(store, doc)
    reusable = store.reusable_vectors(["a"])
    assert len(reusable) == 2 and all(v.shape == (DIM,) for v in reusable.values())
    expected = vectors_for(doc[1])
    from ragtune.text import sha256_text

    assert all((reusable[sha256_text(c.text)] == expected[i]).all() for i, c in enumerate(doc[1]))  # bit-exact
    assert store.reusable_vectors([]) == {}


def test_sources_and_their_documents(store):
    def owned(doc_id: str, source: str):
        record, chunks = document(doc_id, f"text of {doc_id}|more")
        return replace(record, source=source), chunks

    put(store, owned("a/1", "a"), owned("a/2", "a"), owned("b/1", "b"))
    for name in ("a", "b"):
        store.save_source(SourceRecord(name, f"/data/{name}", "folder", "2026-01-01", "2026-01-01"))
    store.save_source(SourceRecord("a", "/data/a", "folder", "2026-01-01", "2026-02-02"))  # an update, by name
    assert [(s.name, s.synced) for s in store.sources()] == [("a", "2026-02-02"), ("b", "2026-01-01")]
    assert store.fingerprints("a") == {"a/1": "fp", "a/2": "fp"} and store.fingerprints("nope") == {}
    assert store.document_sources() == {"a/1": "a", "a/2": "a", "b/1": "b"}
    # restricted to some ids (what ingesting a few files reads): unknown ids and an empty list give nothing
    assert store.document_sources(["b/1", "a/2", "zz"]) == {"a/2": "a", "b/1": "b"}
    assert store.document_sources([]) == {} and store.fingerprints(doc_ids=[]) == {}
    assert store.fingerprints(doc_ids=["a/1", "b/1"]) == {"a/1": "fp", "b/1": "fp"}
    assert store.fingerprints("a", doc_ids=["a/1", "b/1"]) == {"a/1": "fp"}
    assert store.source_counts() == {"a": (2, 4), "b": (1, 2)}
    put(store, (replace(owned("b/2", "b")[0], groups=("hr", "staff")), owned("b/2", "b")[1]))
    assert store.source_groups() == {("a", ("staff",)), ("b", ("staff",)), ("b", ("hr", "staff"))}
    store.remove_documents(["b/2"])
    assert store.source_groups() == {("a", ("staff",)), ("b", ("staff",))}
    assert store.remove_source("a") == 2
    assert [s.name for s in store.sources()] == ["b"] and store.counts() == (1, 2)
    store.ensure_indexes(0)
    assert set(ids(store.search_lexical("text", 10, Filters()))) == {"b/1"}


# ---- versions, replay, gc ------------------------------------------------------------------------------------


def test_every_write_makes_a_new_version(store):
    v0 = store.version()
    put(store, document("a", "one"))
    v1 = store.version()
    store.remove_documents(["a"])
    assert v0 < v1 < store.version()


def test_a_store_opened_at_a_version_sees_the_corpus_as_it_was(backend, store):
    put(store, document("a", "first apples"), document("b", "bananas stay"))
    store.ensure_indexes(0)  # the indexed path below needs the indexes at that version
    then = store.version()
    put(store, document("a", "second pears", fingerprint="fp2"))
    store.remove_documents(["b"])
    old = backend.open(version=then)
    try:
        assert sorted(old.chunk_columns()["text"].to_pylist()) == ["bananas stay", "first apples"]
        assert old.version() == then
        assert ids(old.search_lexical("apples", 10, Filters())) == ["a"]
        assert ids(old.search_lexical("bananas", 10, Filters())) == ["b"]
        # what a replayed answer runs: a searcher over the old version, documents deleted since included
        for exact_max in (100, 0):
            searcher = Searcher(old, FakeEmbedder(DIM), RetrievalConfig(exact_max_chunks=exact_max))
            hits = searcher.search("bananas", mode="bm25", k=5).hits
            assert [h.chunk.text for h in hits] == ["bananas stay"], exact_max
    finally:
        old.close()
    assert sorted(store.chunk_columns()["text"].to_pylist()) == ["second pears"]  # the live store moved on


def test_gc_keeps_pinned_versions_and_refuses_collected_ones(backend, store):
    put(store, document("a", "one apples"))
    store.ensure_indexes(0)
    pinned = store.version()
    put(store, document("a", "two apples", fingerprint="fp2"))
    dropped = store.version()
    put(store, document("a", "three apples", fingerprint="fp3"))
    store.ensure_indexes(0)
    current = store.version()
    stats = store.collect(timedelta(0), {pinned})
    assert stats.versions_removed >= 1 and stats.versions_kept == [pinned]
    old = backend.open(version=pinned)
    assert old.chunk_columns()["text"].to_pylist() == ["one apples"]
    old.close()
    with pytest.raises(VersionCollectedError, match="collected"):
        backend.open(version=dropped)
    assert store.version() == current and store.chunk_columns()["text"].to_pylist() == ["three apples"]
    assert ids(store.search_lexical("apples", 5, Filters())) == ["a"]
    # a version inside the window survives without a pin
    stats = store.collect(timedelta(days=1), set())
    assert stats.versions_kept == []
    backend.open(version=current).close()


# ---- search --------------------------------------------------------------------------------------------------


def test_metadata_filters_tell_an_equals_sign_in_the_key_from_one_in_the_value(store):
    # key "a" with value "b=c" and key "a=b" with value "c" both read "a=b=c" when joined with '='
    put(store, document("v", "apples in v", a="b=c"), document("k", "apples in k", **{"a=b": "c"}),
        document("q", "apples in q", **{'a"': '"b'}))
    store.ensure_indexes(exact_max_chunks=0)
    for metadata, wanted in (({"a": "b=c"}, ["v"]), ({"a=b": "c"}, ["k"]), ({"a": "b"}, []),
                             ({'a"': '"b'}, ["q"]), ({"a": '","b'}, [])):
        assert ids(store.search_lexical("apples", 10, Filters(metadata=metadata))) == wanted, metadata
        dense = store.search_dense(vectors_for(document("v", "apples in v")[1])[0], 10, Filters(metadata=metadata))
        assert ids(dense) == wanted, metadata


def test_native_search_honours_filters(store):
    put(store, document("a", "apples and pears", lang="en"), document("b", "apples in french", lang="fr"),
        document("c", "nothing relevant", lang="en"))
    store.ensure_indexes(exact_max_chunks=0)
    assert store.uses_native_indexes()
    assert ids(store.search_lexical("apples", 10, Filters(metadata={"lang": "en"}))) == ["a"]
    probe = vectors_for(document("b", "apples in french")[1])[0]
    assert ids(store.search_dense(probe, 10, Filters(path_prefix="src/b"))) == ["b"]


def test_a_filtered_search_still_fills_its_top_k(store):
    """Filters apply inside the search: 30 matching chunks of 'keep' among 300 better-scoring others still give
    k=20 results, on the exact (in-memory) and the indexed path."""
    docs = [document(f"other{i:03d}", "apples apples apples", lang="xx") for i in range(300)]
    docs += [document(f"keep{i:02d}", "apples and a great many other words here", lang="en") for i in range(30)]
    put(store, *docs)
    store.ensure_indexes(0)
    only = Filters(metadata={"lang": "en"})
    probe = vectors_for(docs[0][1])[0]
    lexical, dense = store.search_lexical("apples", 20, only), store.search_dense(probe, 20, only)
    assert len(lexical) == 20 and all(i.startswith("keep") for i in ids(lexical))
    assert len(dense) == 20 and all(i.startswith("keep") for i in ids(dense))
    searcher = Searcher(store, FakeEmbedder(DIM), RetrievalConfig(exact_max_chunks=100_000))
    searcher._uses_native_indexes = lambda version: False  # the in-memory path over the same store
    for mode in ("bm25", "dense"):
        hits = searcher.search("apples", mode=mode, k=20, filters=only).hits
        assert len(hits) == 20 and all(h.chunk.doc_id.startswith("keep") for h in hits), mode


@pytest.mark.parametrize("exact_max", [100_000, 0], ids=["exact", "indexed"])
def test_every_search_mode_finds_the_matching_document(backend, tmp_path, exact_max):
    folder = tmp_path / "docs"
    write(folder / "fruit.md", "# Fruit\n\nApples and pears grow in orchards; apples ripen in autumn.\n")
    write(folder / "boats.md", "# Boats\n\nSailing boats need wind; rowing boats need oars.\n")
    write(folder / "stars.md", "# Stars\n\nTelescopes show distant stars and galaxies at night.\n")
    settings = backend.settings(retrieval=RetrievalConfig(exact_max_chunks=exact_max))
    index = DocumentIndex(settings, FakeEmbedder())
    index.ingest([folder])
    assert index.status().search == ("indexed" if exact_max == 0 else "exact")
    for mode in ("bm25", "dense", "hybrid"):
        hits = index.search("apples orchards", mode=mode, k=3).hits
        assert hits[0].chunk.doc_id == "docs/fruit.md", mode
        assert index.document(hits[0].chunk.doc_id).text[hits[0].chunk.start:hits[0].chunk.end] == hits[0].chunk.text
    filtered = index.search("boats", mode="bm25", k=3, filters=Filters(path_prefix="docs/stars")).hits
    assert filtered == []
    index.store.close()


# ---- ingest, sync and sources through the document index -----------------------------------------------------


def test_ingest_update_delete_and_sync_per_source(backend, tmp_path):
    guide, notes = tmp_path / "guide", tmp_path / "notes"
    write(guide / "a.md", "# A\n\nalpha text\n")
    write(guide / "b.md", "# B\n\nbeta text\n")
    write(notes / "n.md", "# N\n\nnotes text\n")
    index = DocumentIndex(backend.settings(), FakeEmbedder())
    first = index.ingest([guide])
    assert (first.added, first.updated, first.unchanged) == (2, 0, 0)
    assert index.ingest([notes]).added == 1
    again = index.ingest([guide])
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    write(guide / "a.md", "# A\n\nalpha text, edited\n")
    (guide / "b.md").unlink()
    write(guide / "c.md", "# C\n\ngamma text\n")
    synced = index.sync(guide)
    assert (synced.added, synced.updated, synced.removed, synced.unchanged) == (1, 1, 1, 0)
    assert set(index.store.fingerprints()) == {"guide/a.md", "guide/c.md", "notes/n.md"}  # notes untouched
    assert "edited" in index.document("guide/a.md").text and index.document("guide/b.md") is None
    listed = {s.source.name: (s.documents, s.source.root) for s in index.sources()}
    assert listed == {"guide": (2, str(guide.resolve())), "notes": (1, str(notes.resolve()))}
    assert index.remove_source("guide") == 2
    assert set(index.store.fingerprints()) == {"notes/n.md"}
    assert [h.chunk.doc_id for h in index.search("text", mode="bm25").hits] == ["notes/n.md"]
    index.store.close()


# ---- concurrency and crashes ---------------------------------------------------------------------------------


def test_concurrent_writers_and_readers_never_see_half_a_document(backend):
    """Four writer threads re-index their own documents (each version of a document has 3 chunks sharing one
    word) while a reader searches: every search sees each document whole, at one version; all writes land."""
    stores = [backend.open() for _ in range(5)]
    put(stores[0], *[document(f"w{w}d{d}", "shared r0|shared r0|shared r0", fingerprint="r0")
                     for w in range(4) for d in range(3)])
    stores[0].ensure_indexes(0)
    errors: list[BaseException] = []
    done = threading.Event()

    def writer(w: int) -> None:
        try:
            for r in range(1, 8):
                put(stores[w], *[document(f"w{w}d{d}", f"shared r{r}|shared r{r}|shared r{r}", fingerprint=f"r{r}")
                                 for d in range(3)])
        except BaseException as exc:  # noqa: BLE001 — reported by the main thread
            errors.append(exc)

    def reader() -> None:
        try:
            while not done.is_set():
                seen: dict[str, set[str]] = {}
                for s in stores[4].search_lexical("shared", 1000, Filters()):
                    doc_id, _, rest = s.chunk_id.partition("#")
                    seen.setdefault(doc_id, set()).add(rest.split("-")[0])
                assert len(seen) == 12, sorted(seen)
                assert all(len(v) == 1 for v in seen.values()), seen
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)] + [threading.Thread(target=reader)]
    for t in threads[:4] + threads[4:]:
        t.start()
    for t in threads[:4]:
        t.join(timeout=300)
    done.set()
    threads[4].join(timeout=60)
    for s in stores[1:]:
        s.close()
    assert not errors, errors
    final = stores[0]
    assert final.fingerprints() == {f"w{w}d{d}": "r7" for w in range(4) for d in range(3)}
    assert final.counts() == (12, 36) and final.write_state().inconsistent == set()
    final.close()


N_DOCS = 12
WRITER = """
import os, sys
from pathlib import Path
from ragtune import Workspace
from ragtune.testing import FakeEmbedder
home, folder = Path(sys.argv[1]), Path(sys.argv[2])
workspace = Workspace(home, embedder=FakeEmbedder())
for round_ in range(10_000):
    for i in range({n}):
        body = " ".join(f"revision{{round_}} sentence{{k}} of document{{i}}." for k in range(40))
        # replaced whole: a kill between truncating and writing a file would leave it empty, and an empty file
        # fails to ingest (keeping its old version) in the crashed index but is absent from the clean one
        (folder.parent / "doc.part").write_text(f"# Document {{i}}\\n\\ncommon words here. {{body}}\\n")
        os.replace(folder.parent / "doc.part", folder / f"doc{{i}}.md")
    workspace.documents.ingest([folder])
""".format(n=N_DOCS)


def visible_versions(workspace: Workspace) -> dict[str, set[str]]:
    """doc id → the versions of its chunks a search for a word in every chunk returns."""
    hits = workspace.documents.search("common words sentence0", mode="bm25", k=10_000).hits
    found: dict[str, set[str]] = {}
    for hit in hits:
        found.setdefault(hit.chunk.doc_id, set()).add(hit.chunk.doc_version)
    return found


def test_a_killed_reindex_never_shows_half_a_document_and_a_rerun_converges(backend, tmp_path):
    """A writer SIGKILLed at random points of a re-index while fresh readers search: every document stays
    searchable at its old or its new version (never without chunks, never two versions mixed), and the next run
    converges to what a clean ingest of the same files gives."""
    home, folder = tmp_path / "home", tmp_path / "docs"
    for i in range(N_DOCS):
        write(folder / f"doc{i}.md", f"# Document {i}\n\ncommon words here. sentence0 of document{i}.\n")

    def workspace(at: Path = home) -> Workspace:
        return Workspace(settings=backend.settings(at), embedder=FakeEmbedder())

    workspace().documents.ingest([folder])
    expected = {f"docs/doc{i}.md" for i in range(N_DOCS)}
    rng = random.Random(7)
    env = dict(os.environ, **backend.env(),
               PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
    checks = 0
    for _ in range(3):  # three kills at different points of a re-index
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(home), str(folder)], env=env)
        deadline = time.monotonic() + rng.uniform(2.0, 5.0)
        while time.monotonic() < deadline:
            reader = workspace()  # a fresh reader: no cached state
            seen = visible_versions(reader)
            reader.documents.store.close()
            assert set(seen) == expected, f"documents without chunks: {sorted(expected - set(seen))}"
            assert all(len(v) == 1 for v in seen.values()), f"two versions mixed: {seen}"
            checks += 1
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
        after = workspace()
        seen = visible_versions(after)
        after.documents.store.close()
        assert set(seen) == expected and all(len(v) == 1 for v in seen.values())
    assert checks >= 3

    crashed = workspace()
    crashed.documents.sync(folder)
    clean = Workspace(settings=backend.settings(tmp_path / "clean", store_namespace="clean"), embedder=FakeEmbedder())
    clean.documents.ingest([folder])

    def rows(ws: Workspace) -> list[tuple]:
        table = ws.documents.store.chunk_columns()
        return sorted(zip(table["chunk_id"].to_pylist(), table["text"].to_pylist()))

    assert rows(crashed) == rows(clean)
    assert crashed.documents.store.write_state().inconsistent == set()
    crashed.documents.store.close()
    clean.documents.store.close()


def test_documents_list_without_text_and_chunks_come_in_order(store):
    put(store, document("b", "three|four|five"), document("a", "one"))
    listed = store.list_documents()
    assert [(d.doc_id, d.n_chunks, d.groups) for d in listed] == [("a", 1, ("staff",)), ("b", 3, ("staff",))]
    assert [c.text for c in store.document_chunks("b")] == ["three", "four", "five"]
    assert store.document_chunks("nope") == []


def test_native_search_honours_access_groups_inside_the_query(store):
    """The store's own (indexed) search; the exact in-memory path is the searcher's (tests/components/test_access)."""
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
        assert set(ids(store.search_lexical("apples", 10, Filters(groups=groups)))) == wanted, groups
        assert set(ids(store.search_dense(probe, 10, Filters(groups=groups)))) == wanted, groups
    # a restricted caller still gets its full k (the filter is inside the search, not applied to its top k)
    assert len(store.search_lexical("apples", 2, Filters(groups=frozenset({"eng"})))) == 2
    assert len(store.search_dense(probe, 2, Filters(groups=frozenset({"eng"})))) == 2


def test_a_searcher_folds_a_write_into_its_index_and_ranks_as_a_fresh_load_does(backend, tmp_path, monkeypatch):
    """After a write, the next search loads only the chunks that changed (not the whole table) and appends
    their vectors after the ones it holds (no copy of them), and every hit, rank and score equals what a
    searcher loading the whole table at that version gives."""
    topics = ["river bridges", "norman castles", "harbour ships", "tower clocks", "mountain passes"]
    folder = tmp_path / "notes"
    for i in range(40):
        write(folder / f"n{i:02d}.md", f"# Note {i}\n\nA note about {topics[i % 5]} number {i}. " * (1 + i % 3))
    held = Workspace(settings=backend.settings(), embedder=FakeEmbedder())
    held.documents.ingest([folder])
    queries = [("river bridges", "bm25"), ("castles number 7", "hybrid"), ("harbour", "dense"), ("note", "bm25")]

    def results(ws: Workspace) -> list[list[tuple]]:
        return [[(h.chunk.chunk_id, h.score, tuple(sorted(h.ranks.items()))) for h in
                 ws.documents.search(q, mode=mode, k=20).hits] for q, mode in queries]

    results(held)  # the held searcher has loaded this version
    store = held.documents.store
    loads: list = []
    full_load = store.chunk_columns
    monkeypatch.setattr(store, "chunk_columns", lambda chunk_ids=None: loads.append(chunk_ids) or full_load(chunk_ids))
    writes = [
        lambda: (write(folder / "n03.md", "# Note 3\n\nRewritten: river bridges and harbour ships."),
                 held.documents.sync(folder)),
        lambda: (write(folder / "n40.md", "# Note 40\n\nA new note about norman castles."),
                 held.documents.ingest_folder_file(folder, folder / "n40.md", "notes")),
        lambda: ((folder / "n11.md").unlink(), held.documents.sync(folder)),
        lambda: ([write(folder / f"n{i:02d}.md", f"# Note {i}\n\nNow about tower clocks {i}.") for i in (5, 6, 7)],
                 held.documents.sync(folder)),
    ]
    for step, change in enumerate(writes):
        vectors_before = held.documents.searcher._state[1].vectors
        change()
        got = results(held)
        assert np.shares_memory(vectors_before, held.documents.searcher._state[1].vectors), f"write {step}"
        fresh = Workspace(settings=backend.settings(), embedder=FakeEmbedder())
        assert got == results(fresh), f"write {step}"
        fresh.documents.store.close()
    assert loads and all(ids is not None and len(ids) <= 8 for ids in loads), loads  # never the whole table
    hits = held.documents.search("Rewritten river", mode="bm25", k=3).hits
    assert hits[0].chunk.doc_id.endswith("n03.md") and "Rewritten" in hits[0].chunk.text
    assert not any(h.chunk.doc_id.endswith("n11.md") for h in held.documents.search("number 11", k=40).hits)
    store.close()
