"""Access groups in the core: search (exact and indexed, every mode) restricts inside the query, documents, counts,
answers, audit views and replay see only what a viewer may see."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import pytest
from tests.conftest import write

from ragtune import Settings, Workspace
from ragtune.config import RetrievalConfig
from ragtune.errors import NotFoundError
from ragtune.store.lance import filters_sql
from ragtune.testing import FakeEmbedder, FakeGenerators
from ragtune.types import Filters, Viewer, visible_to

ALICE = Viewer("kalice", frozenset({"eng"}))
BOB = Viewer("kbob", frozenset({"ops"}))
NOBODY = Viewer("knone", frozenset())
ADMIN = Viewer("kadmin", frozenset(), admin=True)


@pytest.mark.parametrize("doc,caller,expected", [
    ((), None, True), ((), frozenset(), True), (("eng",), None, True), (("eng",), frozenset(), False),
    (("eng",), frozenset({"ops"}), False), (("eng", "ops"), frozenset({"ops"}), True), (None, frozenset(), True),
])
def test_the_visibility_rule(doc, caller, expected):
    assert visible_to(doc, caller) is expected


def test_the_sql_form_of_the_rule_quotes_group_names():
    assert filters_sql(Filters()) is None
    assert filters_sql(Filters(groups=frozenset())) == "(groups IS NULL OR array_length(groups) = 0)"
    assert "array_has_any(groups, ['a''b'])" in filters_sql(Filters(groups={"a'b"}))


def workspace(home: Path, tmp_path: Path, exact_max: int = 100_000) -> Workspace:
    settings = replace(Settings(home=home), retrieval=RetrievalConfig(exact_max_chunks=exact_max))
    ws = Workspace(settings=settings, embedder=FakeEmbedder(), generators=FakeGenerators())
    # many strongly matching "ops" documents and a few weakly matching "eng" ones: a top-k-then-drop filter would
    # leave an eng caller with nothing
    for i in range(12):
        write(tmp_path / "ops" / f"o{i}.md", f"Budget budget budget report {i}. The budget owner is Oscar {i}.\n")
    for i in range(3):
        write(tmp_path / "eng" / f"e{i}.md", f"Engineering notes {i}. The budget is small.\n")
    write(tmp_path / "public" / "p.md", "Public handbook. Everyone may read the budget summary.\n")
    ws.documents.ingest([tmp_path / "ops"], groups=["ops"])
    ws.documents.ingest([tmp_path / "eng"], groups=["eng"])
    ws.documents.ingest([tmp_path / "public"])
    return ws


@pytest.mark.parametrize("exact_max", [100_000, 0], ids=["exact", "indexed"])
def test_search_restricts_inside_the_query_in_every_mode(home, tmp_path, exact_max):
    ws = workspace(home, tmp_path, exact_max)
    assert ws.documents.store.uses_native_indexes() is (exact_max == 0)
    for mode in ("bm25", "dense", "hybrid"):
        hits = ws.documents.search("budget owner report", mode=mode, k=4, viewer=ALICE).hits
        docs = {h.chunk.doc_id for h in hits}
        assert docs == {"eng/e0.md", "eng/e1.md", "eng/e2.md", "public/p.md"}, (mode, docs)
        assert {h.chunk.doc_id.split("/")[0] for h in ws.documents.search("budget", mode=mode, k=20,
                                                                          viewer=BOB).hits} == {"ops", "public"}
        assert {h.chunk.doc_id for h in ws.documents.search("budget", mode=mode, k=5, viewer=NOBODY).hits} == {
            "public/p.md"}
        assert len(ws.documents.search("budget", mode=mode, k=16, viewer=ADMIN).hits) == 16


def test_filters_combine_with_groups(home, tmp_path):
    ws = workspace(home, tmp_path)
    hits = ws.documents.search("budget", k=10, filters=Filters(path_prefix=str(tmp_path / "public")), viewer=ALICE)
    assert [h.chunk.doc_id for h in hits.hits] == ["public/p.md"]


def test_documents_listing_and_counts_follow_the_viewer(home, tmp_path):
    ws = workspace(home, tmp_path)
    assert [d.doc_id for d in ws.documents.list_documents(ALICE)] == ["eng/e0.md", "eng/e1.md", "eng/e2.md",
                                                                      "public/p.md"]
    assert len(ws.documents.list_documents(ADMIN)) == len(ws.documents.list_documents()) == 16
    assert ws.documents.status(ALICE).documents == 4 and ws.documents.status(ADMIN).documents == 16
    assert ws.documents.status(NOBODY).chunks == ws.documents.document("public/p.md").n_chunks
    assert ws.documents.document("ops/o1.md", ALICE) is None and ws.documents.chunks("ops/o1.md", ALICE) == []
    assert ws.documents.document("ops/o1.md", BOB).groups == ("ops",)
    chunks = ws.documents.chunks("eng/e1.md", ALICE)
    text = ws.documents.document("eng/e1.md").text
    assert chunks and all(text[c.start:c.end] == c.text for c in chunks)


def test_answers_retrieve_only_visible_documents_and_record_the_key_id(home, tmp_path):
    ws = workspace(home, tmp_path)
    answer = ws.answers.ask("Who is the budget owner?", viewer=ALICE)
    assert all(h.chunk.doc_id.split("/")[0] in {"eng", "public"} for h in answer.hits) and answer.hits
    record = ws.audit.get(answer.audit_id)
    assert record.body["api_key_id"] == "kalice" and record.body["retrieval"]["filters"]["groups"] == ["eng"]
    assert "Oscar" not in str(record.body)
    # the local user's answers keep their shape (no key id) and see everything
    local = ws.answers.ask("Who is the budget owner?")
    assert "api_key_id" not in ws.audit.get(local.audit_id).body and "Oscar" in local.answer


def test_audit_views_show_a_key_only_its_own_records(home, tmp_path):
    ws = workspace(home, tmp_path)
    mine = [ws.answers.ask(f"budget question {i}", viewer=ALICE).audit_id for i in range(3)]
    theirs = ws.answers.ask("budget owner", viewer=BOB).audit_id
    assert [r.id for r in ws.audit.list(10, ALICE)] == mine[::-1]
    assert [r.id for r in ws.audit.list(2, ALICE)] == mine[:0:-1]  # the limit counts the key's own records
    assert {r.id for r in ws.audit.list(10, ADMIN)} == set(mine) | {theirs}
    assert ws.audit.get(mine[0], ALICE).id == mine[0] and ws.audit.get(theirs, ADMIN).id == theirs
    with pytest.raises(NotFoundError) as other:
        ws.audit.get(theirs, ALICE)
    with pytest.raises(NotFoundError) as missing:
        ws.audit.get("0000000000000000", ALICE)
    assert str(other.value).replace(theirs, "X") == str(missing.value).replace("0000000000000000", "X")


def test_replay_needs_the_record_and_every_document_it_saw(home, tmp_path):
    ws = workspace(home, tmp_path)
    answer = ws.answers.ask("engineering notes budget", viewer=ALICE)
    assert ws.answers.replay(answer.audit_id, ALICE).identical
    with pytest.raises(NotFoundError):
        ws.answers.replay(answer.audit_id, BOB)
    assert ws.answers.replay(answer.audit_id, ADMIN).identical
    # the documents it saw move to another group: the key may no longer replay it (and learns nothing more)
    ws.documents.ingest([tmp_path / "eng"], groups=["secret"])
    with pytest.raises(NotFoundError, match="not found"):
        ws.answers.replay(answer.audit_id, ALICE)
    assert ws.answers.replay(answer.audit_id).identical  # recorded groups are replayed, not the local user's


def test_the_exact_and_indexed_searches_agree_with_the_rule(home, tmp_path):
    """Random groups on documents and callers: both search paths return exactly the visible documents."""
    import random

    rng = random.Random(7)
    names = ["a", "b", "c", "d"]
    docs = {}
    for i in range(24):
        groups = rng.sample(names, rng.randint(0, 2))
        path = write(tmp_path / "r" / f"d{i}.md", f"Shared words alpha beta. Token{i} here.\n")
        ws_groups = groups
        docs[f"d{i}.md"] = (path, tuple(sorted(ws_groups)))
    results = {}
    for exact_max in (100_000, 0):
        settings = replace(Settings(home=home / str(exact_max)),
                           retrieval=RetrievalConfig(exact_max_chunks=exact_max))
        ws = Workspace(settings=settings, embedder=FakeEmbedder(), generators=FakeGenerators())
        for name, (path, groups) in docs.items():
            ws.documents.ingest([path], source=f"s-{name.replace('.', '-')}", groups=groups)
        for size in range(0, 3):
            for caller in itertools.combinations(names, size):
                viewer = Viewer("k", frozenset(caller))
                expected = {f"s-{n.replace('.', '-')}/{n}" for n, (_, g) in docs.items()
                            if visible_to(g, viewer.groups)}
                for mode in ("bm25", "dense", "hybrid"):
                    got = {h.chunk.doc_id for h in ws.documents.search("alpha beta", mode=mode, k=50,
                                                                       viewer=viewer).hits}
                    assert got == expected, (exact_max, caller, mode)
                    results.setdefault((caller, mode), []).append(got)
    assert all(a == b for a, b in results.values())


def test_a_key_stops_reading_its_records_once_it_cannot_see_what_they_quote(home, tmp_path):
    ws = workspace(home, tmp_path)
    kept = ws.answers.ask("Public handbook everyone read summary", k=1, viewer=ALICE).audit_id
    lost = ws.answers.ask("engineering notes budget", viewer=ALICE).audit_id
    assert {r.id for r in ws.records.list(10, ALICE)} == {kept, lost}
    ws.documents.ingest([tmp_path / "eng"], groups=["secret"])
    assert [r["doc_id"] for r in ws.audit.get(kept).body["retrieved"]] == ["public/p.md"]
    assert [r.id for r in ws.records.list(10, ALICE)] == [kept]
    with pytest.raises(NotFoundError):
        ws.records.get(lost, ALICE)
    assert ws.records.get(lost, ADMIN).id == lost and {r.id for r in ws.records.list(10, ADMIN)} == {kept, lost}


def test_a_resync_or_reingest_without_groups_keeps_the_groups_a_source_has(home, tmp_path):
    ws = workspace(home, tmp_path)
    write(tmp_path / "eng" / "e0.md", "Engineering notes 0, edited. The budget is small.\n")
    write(tmp_path / "eng" / "e3.md", "Engineering notes 3, new. The budget is tiny.\n")
    report = ws.documents.sync(tmp_path / "eng")  # no groups named: the source keeps "eng", new files get it too
    assert (report.updated, report.added) == (1, 1)
    assert {d.groups for d in ws.documents.store.list_documents() if d.source == "eng"} == {("eng",)}
    assert not {h.chunk.doc_id for h in ws.documents.search("engineering", k=10, viewer=BOB).hits} & {
        "eng/e0.md", "eng/e3.md"}
    write(tmp_path / "eng" / "e1.md", "Engineering notes 1, edited again.\n")
    assert ws.documents.ingest([tmp_path / "eng"]).updated == 1
    assert ws.documents.document("eng/e1.md").groups == ("eng",)
    # naming groups still changes them; a new source without groups is visible to every key
    ws.documents.sync(tmp_path / "eng", groups=["eng", "ops"])
    assert ws.documents.document("eng/e1.md").groups == ("eng", "ops")
    write(tmp_path / "fresh" / "f.md", "A fresh public note.\n")
    ws.documents.ingest([tmp_path / "fresh"])
    assert ws.documents.document("fresh/f.md").groups == ()
