"""ragtune.Index end to end on a real LanceDB store (fake embedder for speed): ingest, sync, search, status."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest
from tests.conftest import write

import ragtune.components.documents as documents_module
from ragtune import Filters, Workspace
from ragtune.errors import InputError
from ragtune.store.lance import LanceStore
from ragtune.testing import FakeEmbedder


def make_docs(root: Path, n: int = 5) -> Path:
    for i in range(n):
        write(root / "notes" / f"doc{i}.md",
              f"# Topic {i}\n\nThe keyword{i} explains subject number {i} in detail.\n\nSecond paragraph {i}.\n")
    write(root / "readme.txt", "Plain text about gardening and tomatoes.\n\nAnother paragraph.")
    return root


def chunk_rows(index: Workspace) -> list[tuple]:
    table = index.documents.store.chunk_columns()
    return sorted(zip(table["chunk_id"].to_pylist(), table["text"].to_pylist(), table["start"].to_pylist()))


def test_ingest_adds_then_skips_unchanged_documents(fake_index: Workspace, tmp_path: Path):
    docs = make_docs(tmp_path / "docs")
    first = fake_index.documents.ingest([docs])
    assert (first.added, first.updated, first.unchanged, first.removed) == (6, 0, 0, 0)
    assert first.chunks > 0
    calls_before = len(fake_index.embedder.calls)
    again = fake_index.documents.ingest([docs])
    assert (again.added, again.updated, again.unchanged, again.chunks) == (0, 0, 6, 0)
    assert len(fake_index.embedder.calls) == calls_before  # nothing was embedded
    status = fake_index.documents.status()
    assert status.documents == 6 and status.backend == "lancedb" and status.search == "exact"


def test_document_ids_are_the_source_name_and_the_path_inside_it(fake_index: Workspace, tmp_path: Path):
    docs = make_docs(tmp_path / "docs", n=1)
    fake_index.documents.ingest([docs])
    assert fake_index.documents.document("docs/notes/doc0.md") is not None
    single = write(tmp_path / "other" / "single.txt", "a lone file")
    fake_index.documents.ingest([single])
    assert fake_index.documents.document("single/single.txt").text == "a lone file"


def test_changing_a_document_replaces_its_chunks_without_duplicates(fake_index: Workspace, tmp_path: Path):
    docs = make_docs(tmp_path / "docs")
    fake_index.documents.ingest([docs])
    before = fake_index.documents.status().chunks
    old_version = fake_index.documents.document("docs/notes/doc1.md").version
    path = docs / "notes" / "doc1.md"
    path.write_text(path.read_text() + "\nA new closing paragraph about zebras.\n")
    report = fake_index.documents.ingest([docs])
    assert (report.added, report.updated, report.unchanged) == (0, 1, 5)
    doc = fake_index.documents.document("docs/notes/doc1.md")
    assert doc.version != old_version and "zebras" in doc.text
    rows = chunk_rows(fake_index)
    assert len({r[0] for r in rows}) == len(rows) == fake_index.documents.status().chunks
    assert fake_index.documents.status().chunks >= before
    table = fake_index.documents.store.chunk_columns()
    versions = {v for d, v in zip(table["doc_id"].to_pylist(), table["doc_version"].to_pylist())
                if d == "docs/notes/doc1.md"}
    assert versions == {doc.version}


def test_unchanged_chunk_text_reuses_stored_vectors(home: Path, tmp_path: Path):
    embedder = FakeEmbedder()
    index = Workspace(home, embedder=embedder)
    paragraphs = [f"Paragraph {i} " + " ".join(["filler"] * 60) for i in range(6)]
    path = write(tmp_path / "d" / "long.md", "# Long\n\n" + "\n\n".join(paragraphs))
    index.documents.ingest([path])
    path.write_text(path.read_text() + "\n\nOne more paragraph at the end.")
    report = index.documents.ingest([path])
    assert report.updated == 1 and report.reused_vectors > 0 and report.embedded < report.chunks


def test_sync_removes_deleted_files_and_their_chunks(fake_index: Workspace, tmp_path: Path):
    docs = make_docs(tmp_path / "docs")
    fake_index.documents.sync(docs)
    (docs / "notes" / "doc3.md").unlink()
    report = fake_index.documents.sync(docs)
    assert (report.removed, report.unchanged, report.added, report.updated) == (1, 5, 0, 0)
    assert fake_index.documents.document("docs/notes/doc3.md") is None
    assert all(not cid.startswith("docs/notes/doc3.md#") for cid, _, _ in chunk_rows(fake_index))


def test_sync_keeps_a_document_that_cannot_be_read_this_time(fake_index: Workspace, tmp_path: Path):
    docs = make_docs(tmp_path / "docs", n=2)
    fake_index.documents.sync(docs)
    (docs / "notes" / "doc0.md").write_bytes(b"\x00\x01binary now")
    report = fake_index.documents.sync(docs)
    assert report.removed == 0 and len(report.failed) == 1
    assert "keyword0" in fake_index.documents.document("docs/notes/doc0.md").text  # the indexed version survives


def test_bad_files_are_reported_while_the_others_ingest(fake_index: Workspace, tmp_path: Path):
    docs = make_docs(tmp_path / "docs", n=2)
    write(docs / "empty.md", "")
    (docs / "binary.txt").write_bytes(b"\x00\xff\x00\xfe")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    (docs / "image.png").write_bytes(b"\x89PNG")
    report = fake_index.documents.ingest([docs])
    assert report.added == 3
    assert sorted(Path(f.source).name for f in report.failed) == ["binary.txt", "broken.pdf", "empty.md"]
    assert report.skipped == 1  # the .png inside a folder is not ours to read


def test_missing_path_and_unsupported_file_stop_before_anything_is_written(fake_index: Workspace, tmp_path: Path):
    with pytest.raises(InputError, match="no such file"):
        fake_index.documents.ingest([tmp_path / "nope"])
    png = tmp_path / "x.png"
    png.write_bytes(b"x")
    with pytest.raises(InputError, match="unsupported file type '.png'"):
        fake_index.documents.ingest([png])
    assert fake_index.documents.status().documents == 0


def test_a_corpus_jsonl_ingests_one_document_per_line_with_metadata(fake_index: Workspace, tmp_path: Path):
    corpus = tmp_path / "c.jsonl"
    lines = [{"id": "a", "title": "Alpha", "text": "alpha text about cats", "lang": "en"},
             {"id": "b", "title": "Beta", "text": "beta text about dogs", "lang": "fr"}]
    corpus.write_text("\n".join(json.dumps(line) for line in lines))
    report = fake_index.documents.ingest([corpus])
    assert report.added == 2
    hits = fake_index.documents.search("text about", mode="bm25", filters=Filters(metadata={"lang": "fr"})).hits
    assert [h.chunk.doc_id for h in hits] == ["b"]
    assert fake_index.documents.document("a").title == "Alpha"


@pytest.mark.parametrize("search", ["exact", "indexed"])
def test_metadata_filters_tell_an_equals_sign_in_the_key_from_one_in_the_value(home: Path, tmp_path: Path,
                                                                             search: str):
    from dataclasses import replace

    from ragtune import RetrievalConfig, Settings

    corpus = tmp_path / "c.jsonl"
    lines = [{"id": "value", "text": "shared words one", "a": "b=c"},
             {"id": "key", "text": "shared words two", "a=b": "c"}]
    corpus.write_text("\n".join(json.dumps(line) for line in lines))
    exact_max = 0 if search == "indexed" else 100_000
    settings = replace(Settings(home=home), retrieval=RetrievalConfig(exact_max_chunks=exact_max))
    documents = Workspace(home, settings=settings, embedder=FakeEmbedder()).documents
    documents.ingest([corpus])
    assert documents.status().search == search
    for where, wanted in ((["a=b=c"], ["value"]), ({"a=b": "c"}, ["key"]), ({"a": "b"}, [])):
        filters = Filters.parse(None, where) if isinstance(where, list) else Filters(metadata=where)
        for mode in ("bm25", "dense"):
            hits = documents.search("shared words", mode=mode, filters=filters).hits
            assert [h.chunk.doc_id for h in hits] == wanted, (where, mode)


def test_a_malformed_corpus_is_rejected_whole(fake_index: Workspace, tmp_path: Path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"id": "a", "text": "fine"}\n{"id": "b", "text": \n')
    report = fake_index.documents.ingest([corpus])
    assert report.added == 0 and "c.jsonl:2" in report.failed[0].message
    assert fake_index.documents.status().documents == 0


def test_search_results_carry_spans_into_the_stored_document(fake_index: Workspace, tmp_path: Path):
    fake_index.documents.ingest([make_docs(tmp_path / "docs")])
    for mode in ("hybrid", "bm25", "dense"):
        hits = fake_index.documents.search("keyword2 subject", mode=mode, k=3).hits
        assert hits and hits[0].chunk.doc_id == "docs/notes/doc2.md"
        for hit in hits:
            doc = fake_index.documents.document(hit.chunk.doc_id)
            assert doc.text[hit.chunk.start : hit.chunk.end] == hit.chunk.text
    hybrid = fake_index.documents.search("keyword2 subject", k=3).hits[0]
    assert set(hybrid.scores) == {"bm25", "dense", "zscore"} and hybrid.ranks["bm25"] == 1


def test_path_prefix_filter(fake_index: Workspace, tmp_path: Path):
    docs = make_docs(tmp_path / "docs")
    fake_index.documents.ingest([docs])
    hits = fake_index.documents.search("paragraph", k=20, filters=Filters(path_prefix=str(docs / "notes"))).hits
    assert hits and all(h.chunk.doc_id.startswith("docs/notes/") for h in hits)


@pytest.mark.parametrize("query,k,message", [("   ", 5, "query is empty"), ("x", 0, "k=0")])
def test_bad_queries_are_user_errors(fake_index: Workspace, query: str, k: int, message: str):
    with pytest.raises(InputError, match=message):
        fake_index.documents.search(query, k=k)


def test_rerunning_after_a_crash_converges_to_the_same_index(home: Path, tmp_path: Path, monkeypatch):
    docs = make_docs(tmp_path / "docs")
    crashed = Workspace(home, embedder=FakeEmbedder())
    original = LanceStore._document_table

    def fail(self, documents):  # the crash lands after chunks were written, before the document rows
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(LanceStore, "_document_table", fail)
    with pytest.raises(RuntimeError):
        crashed.documents.ingest([docs])
    monkeypatch.setattr(LanceStore, "_document_table", original)
    assert crashed.documents.status().documents == 0 and crashed.documents.status().chunks > 0  # the crash left orphan chunks

    report = crashed.documents.ingest([docs])
    assert report.added == 6
    clean = Workspace(tmp_path / "clean-home", embedder=FakeEmbedder())
    clean.documents.ingest([docs])
    assert chunk_rows(crashed) == chunk_rows(clean)


def test_sync_clears_orphans_left_by_an_abandoned_run(home: Path, tmp_path: Path, monkeypatch):
    docs = make_docs(tmp_path / "docs", n=2)
    index = Workspace(home, embedder=FakeEmbedder())
    monkeypatch.setattr(LanceStore, "_document_table", lambda self, d: (_ for _ in ()).throw(RuntimeError("x")))
    with pytest.raises(RuntimeError):
        index.documents.ingest([docs / "readme.txt"])  # a document that is not in the folder synced next
    monkeypatch.undo()
    # its chunks landed but its row did not: search never shows them, even before the next sync
    reader = Workspace(home, embedder=FakeEmbedder())
    assert reader.documents.store.counts() == (0, 1)
    assert reader.documents.search("gardening tomatoes", mode="bm25").hits == []
    report = index.documents.sync(docs / "notes")
    assert report.orphans_removed == 1 and index.documents.store.write_state().orphans == {}
    ids = {cid.split("#")[0] for cid, _, _ in chunk_rows(index)}
    assert ids == {"notes/doc0.md", "notes/doc1.md"} and index.documents.status().documents == 2


def test_a_sync_keeps_the_chunks_it_writes_for_documents_an_abandoned_run_left_without_rows(
        home: Path, tmp_path: Path, monkeypatch):
    notes = make_docs(tmp_path / "docs", n=2) / "notes"
    index = Workspace(home, embedder=FakeEmbedder())

    def crash(self, documents):
        raise RuntimeError("the process died between the chunks' commit and the rows'")

    monkeypatch.setattr(LanceStore, "_document_table", crash)
    with pytest.raises(RuntimeError):
        index.documents.sync(notes)
    monkeypatch.undo()
    assert set(index.documents.store.write_state().orphans) == {"notes/doc0.md", "notes/doc1.md"}
    report = index.documents.sync(notes)
    assert (report.added, report.orphans_removed) == (2, 0)
    state = index.documents.store.write_state()
    assert state.orphans == {} and state.inconsistent == set() and len(state.fingerprints) == 2
    assert [h.chunk.doc_id for h in index.documents.search("keyword1", mode="bm25").hits] == ["notes/doc1.md"]


def test_a_sync_or_an_ingest_never_stops_for_the_garbage_collector(fake_index: Workspace, tmp_path: Path,
                                                                    monkeypatch):
    docs = make_docs(tmp_path / "docs")
    inside: list[str] = []  # the phase running now: scanning the folder, or planning and writing
    during: list[str] = []  # the phases a collection started in

    def phase(name: str, function):
        def run(*args, **kwargs):
            inside.append(name)
            try:
                return function(*args, **kwargs)
            finally:
                inside.pop()
        return run

    monkeypatch.setattr(documents_module, "expand_sources", phase("scan", documents_module.expand_sources))
    monkeypatch.setattr(documents_module, "run_ingest", phase("write", documents_module.run_ingest))

    def note(event: str, info: dict) -> None:
        if event == "start" and inside:
            during.append(inside[-1])

    threshold, enabled = gc.get_threshold(), gc.isenabled()
    gc.enable()
    gc.set_threshold(1)  # with the collector on, almost every allocation would start a collection
    gc.callbacks.append(note)
    try:
        fake_index.documents.ingest([docs / "readme.txt"])
        fake_index.documents.sync(docs / "notes")
    finally:
        gc.callbacks.remove(note)
        gc.set_threshold(*threshold)
        if not enabled:
            gc.disable()
    assert during == [] and fake_index.documents.status().documents == 6
    assert gc.isenabled() == enabled


def test_a_second_writer_is_refused_while_one_holds_the_lock(fake_index: Workspace, tmp_path: Path):
    import fcntl

    from ragtune.errors import StoreError

    fake_index.home.mkdir(parents=True, exist_ok=True)
    with open(fake_index.home / "write.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        with pytest.raises(StoreError, match="another ragtune process"):
            fake_index.documents.ingest([make_docs(tmp_path / "docs", n=1)])


def test_a_writer_told_to_wait_gets_the_lock_once_the_other_releases_it(fake_index: Workspace, tmp_path: Path):
    import fcntl
    import threading

    fake_index.home.mkdir(parents=True, exist_ok=True)
    handle = open(fake_index.home / "write.lock", "w")
    fcntl.flock(handle, fcntl.LOCK_EX)
    threading.Timer(0.5, lambda: (fcntl.flock(handle, fcntl.LOCK_UN), handle.close())).start()
    fake_index.documents.write_wait_seconds = 30  # what `ragtune serve` sets: its workers queue their writes
    assert fake_index.documents.ingest([make_docs(tmp_path / "docs", n=1)]).added == 2  # doc0.md, readme.txt


def test_changing_the_embedder_of_an_existing_index_is_refused(home: Path, tmp_path: Path):
    from ragtune.errors import StoreError

    Workspace(home, embedder=FakeEmbedder()).documents.ingest([make_docs(tmp_path / "docs", n=1)])
    with pytest.raises(StoreError, match="built with embedder"):
        Workspace(home, embedder=FakeEmbedder(dim=32)).documents.status()


def test_a_reader_sees_another_writers_changes_after_its_refresh_interval(home: Path, tmp_path: Path):
    from dataclasses import replace

    from ragtune import RetrievalConfig, Settings

    settings = replace(Settings(home=home), retrieval=RetrievalConfig(refresh_seconds=0))
    reader = Workspace(settings=settings, embedder=FakeEmbedder())
    writer = Workspace(home, embedder=FakeEmbedder())
    writer.documents.ingest([write(tmp_path / "a.md", "apples are red")])
    assert [h.chunk.doc_id for h in reader.documents.search("apples", mode="bm25").hits] == ["a/a.md"]
    writer.documents.ingest([write(tmp_path / "b.md", "apples are green")])
    assert {h.chunk.doc_id for h in reader.documents.search("apples", mode="bm25").hits} == {"a/a.md", "b/b.md"}


def test_a_reader_folds_another_writers_small_change_in_without_reading_every_document_row(home, tmp_path,
                                                                                          monkeypatch):
    from dataclasses import replace

    from ragtune import RetrievalConfig, Settings

    settings = replace(Settings(home=home), retrieval=RetrievalConfig(refresh_seconds=0))
    folder = tmp_path / "notes"
    for name in ("a", "b", "c"):
        write(folder / f"{name}.md", f"apples {name}")
    writer = Workspace(home, embedder=FakeEmbedder())
    writer.documents.sync(folder)
    reader = Workspace(settings=settings, embedder=FakeEmbedder())
    assert len(reader.documents.search("apples", mode="bm25").hits) == 3
    store = reader.documents.store
    monkeypatch.setattr(store, "document_versions", lambda: pytest.fail("every document row was read"))
    write(folder / "a.md", "apples a, edited")
    (folder / "b.md").unlink()
    write(folder / "d.md", "apples d")
    writer.documents.sync(folder)
    hits = reader.documents.search("apples", mode="bm25").hits
    assert sorted((h.chunk.doc_id, h.chunk.text) for h in hits) == [
        ("notes/a.md", "apples a, edited"), ("notes/c.md", "apples c"), ("notes/d.md", "apples d")]


def test_two_folders_with_the_same_file_name_are_two_sources_and_sync_touches_only_its_own(fake_index, tmp_path):
    # the session from the issue: before sources, y/notes.md silently replaced x/notes.md and `sync y` deleted x's
    write(tmp_path / "x" / "notes.md", "Alpha team owns the billing service.")
    write(tmp_path / "x" / "handbook.md", "Expenses need two approvals.")
    write(tmp_path / "y" / "notes.md", "Beta team owns the search cluster.")
    docs = fake_index.documents
    assert docs.ingest([tmp_path / "x"]).added == 2
    assert docs.ingest([tmp_path / "y"]).added == 1
    assert docs.sync(tmp_path / "y").removed == 0
    assert docs.status().documents == 3
    assert {d: docs.document(d).text for d in ("x/notes.md", "y/notes.md")} == {
        "x/notes.md": "Alpha team owns the billing service.", "y/notes.md": "Beta team owns the search cluster."}
    listed = {s.source.name: (s.source.root, s.source.kind, s.documents) for s in docs.sources()}
    assert listed == {"x": (str((tmp_path / "x").resolve()), "folder", 2),
                      "y": (str((tmp_path / "y").resolve()), "folder", 1)}

    (tmp_path / "y" / "notes.md").unlink()
    assert docs.sync(tmp_path / "y").removed == 1  # its own deleted file goes; x is untouched
    assert docs.status().documents == 2 and docs.document("x/handbook.md") is not None


def test_a_source_name_stays_with_its_root(fake_index, tmp_path):
    write(tmp_path / "a" / "docs" / "one.md", "one")
    write(tmp_path / "b" / "docs" / "two.md", "two")
    docs = fake_index.documents
    docs.ingest([tmp_path / "a" / "docs"])
    with pytest.raises(InputError, match=r"source 'docs' is .*a/docs.*--source NAME"):
        docs.ingest([tmp_path / "b" / "docs"])
    assert docs.ingest([tmp_path / "b" / "docs"], source="docs-b").added == 1
    assert docs.document("docs-b/two.md") is not None and docs.status().documents == 2


def test_corpus_ids_are_global_and_a_clash_names_the_owner(fake_index, tmp_path):
    write(tmp_path / "one.jsonl", '{"id": "a", "text": "first"}\n')
    write(tmp_path / "two.jsonl", '{"id": "a", "text": "second"}\n{"id": "b", "text": "other"}\n')
    docs = fake_index.documents
    docs.ingest([tmp_path / "one.jsonl"])
    report = docs.ingest([tmp_path / "two.jsonl"])
    assert report.added == 1 and "already belongs to source 'one'" in report.failed[0].message
    assert docs.document("a").text == "first"


def test_removing_a_source_removes_its_documents_only(fake_index, tmp_path):
    write(tmp_path / "x" / "a.md", "apples")
    write(tmp_path / "y" / "b.md", "bananas")
    docs = fake_index.documents
    docs.ingest([tmp_path / "x", tmp_path / "y"])
    assert docs.remove_source("x") == 1
    assert [s.source.name for s in docs.sources()] == ["y"]
    assert [h.chunk.doc_id for h in docs.search("apples bananas", mode="bm25").hits] == ["y/b.md"]
    with pytest.raises(InputError, match="source 'x' is not in this index"):
        docs.remove_source("x")


def test_gold_ids_may_name_a_file_by_its_path_inside_its_source(fake_index, tmp_path):
    write(tmp_path / "docs" / "guide" / "intro.md", "hello")
    write(tmp_path / "c.jsonl", '{"id": "m1", "text": "memo"}\n')
    docs = fake_index.documents
    docs.ingest([tmp_path / "docs", tmp_path / "c.jsonl"])
    assert docs.resolve_ids(["guide/intro.md", "docs/guide/intro.md", "m1", "nope"]) == {
        "guide/intro.md": "docs/guide/intro.md", "docs/guide/intro.md": "docs/guide/intro.md", "m1": "m1",
        "nope": "nope"}


def test_a_document_whose_chunks_do_not_match_its_row_is_repaired_by_the_next_ingest(fake_index, tmp_path):
    docs = make_docs(tmp_path / "docs", n=2)
    fake_index.documents.ingest([docs])
    before = chunk_rows(fake_index)
    store = fake_index.documents.store
    lost = next(cid for cid, _, _ in before if cid.startswith("docs/notes/doc1.md#"))
    store._chunks.delete(f"chunk_id = '{lost}'")  # a chunk lost behind the store's back
    assert store.write_state().inconsistent == {"docs/notes/doc1.md"}
    assert store.write_state(["docs/notes/doc1.md", "nope"]).inconsistent == {"docs/notes/doc1.md"}
    others = [d for d in store.fingerprints() if d != "docs/notes/doc1.md"]
    assert others and store.write_state(others).inconsistent == set()
    report = fake_index.documents.ingest([docs])
    assert (report.updated, report.unchanged) == (1, 2)
    assert chunk_rows(fake_index) == before and store.write_state().inconsistent == set()


class PausedTable:
    """A writer's documents table whose next commit waits: the moment between a write's two commits (its chunks,
    then its documents' rows), held open so a reader can look."""

    def __init__(self, table, reached, release) -> None:
        self.table, self.reached, self.release = table, reached, release

    def merge_insert(self, *args):
        self.reached.set()
        assert self.release.wait(30)
        return self.table.merge_insert(*args)

    def __getattr__(self, name):
        return getattr(self.table, name)


@pytest.mark.parametrize("exact_max", [100_000, 0], ids=["exact", "indexed"])
def test_a_reader_that_looked_between_a_writes_two_commits_sees_the_document_once_it_lands(home, tmp_path,
                                                                                           exact_max):
    import threading
    from dataclasses import replace

    from ragtune import RetrievalConfig, Settings

    settings = replace(Settings(home=home), retrieval=RetrievalConfig(refresh_seconds=0, exact_max_chunks=exact_max))
    writer = Workspace(settings=settings, embedder=FakeEmbedder())
    writer.documents.ingest([write(tmp_path / "a.md", "apples are red")])
    reader = Workspace(settings=settings, embedder=FakeEmbedder())
    assert [h.chunk.doc_id for h in reader.documents.search("apples", mode="bm25").hits] == ["a/a.md"]
    reached, release = threading.Event(), threading.Event()
    store = writer.documents.store
    store._documents = PausedTable(store._documents, reached, release)
    thread = threading.Thread(target=writer.documents.ingest, args=([write(tmp_path / "b.md", "apples are green")],))
    thread.start()
    try:
        assert reached.wait(30)  # b's chunks are committed, its row is not: b is not a result yet
        assert [h.chunk.doc_id for h in reader.documents.search("apples", mode="bm25").hits] == ["a/a.md"]
    finally:
        release.set()
        thread.join(30)
    # the row's commit does not move the store version; the reader must still find b
    assert {h.chunk.doc_id for h in reader.documents.search("apples", mode="bm25").hits} == {"a/a.md", "b/b.md"}
