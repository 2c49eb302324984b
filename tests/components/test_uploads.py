"""Uploads: safe names, types, size, groups the uploader may give, replace/delete rights, files kept in step."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ragtune import Settings, Workspace
from ragtune.config import IngestConfig
from ragtune.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    TooLargeError,
    UnsupportedTypeError,
)
from ragtune.testing import FakeEmbedder, FakeGenerators
from ragtune.types import Viewer

ENG = Viewer("keng", frozenset({"eng"}))
BOTH = Viewer("kboth", frozenset({"eng", "ops"}))
ADMIN = Viewer("kadmin", frozenset(), admin=True)


@pytest.fixture
def ws(home):
    settings = replace(Settings(home=home), ingest=IngestConfig(max_file_bytes=1000))
    return Workspace(settings=settings, embedder=FakeEmbedder(), generators=FakeGenerators())


@pytest.mark.parametrize("given,stored", [
    ("notes.md", "notes.md"), ("../../etc/passwd.txt", "passwd.txt"), ("C:\\Users\\x\\plan v2.md", "plan-v2.md"),
    ("..hidden.md", "hidden.md"), ("/abs/ok.TXT", "ok.TXT"),
])
def test_names_are_reduced_to_a_safe_file_name(ws, home, given, stored):
    result = ws.uploads.add(given, b"Some text here.", viewer=ENG)
    assert result.doc_id == f"uploads/{stored}"
    assert (home / "uploads" / "uploads" / stored).read_bytes() == b"Some text here."
    assert sorted(p.name for p in home.rglob("*") if p.is_file() and p.parent.name == "uploads") == [stored]


@pytest.mark.parametrize("name", ["", "..", "noext", ".md", "a/"])
def test_a_name_without_a_file_is_refused(ws, name):
    with pytest.raises(InputError):
        ws.uploads.add(name, b"x")


def test_types_and_sizes_are_checked(ws):
    with pytest.raises(UnsupportedTypeError):
        ws.uploads.add("corpus.jsonl", b'{"id": "x", "text": "y"}')
    with pytest.raises(UnsupportedTypeError):
        ws.uploads.add("run.sh", b"rm -rf /")
    with pytest.raises(TooLargeError):
        ws.uploads.add("big.txt", b"x" * 1001)
    with pytest.raises(InputError):
        ws.uploads.add("notes.md", b"text", source="../etc")


def test_an_upload_is_listed_and_searchable_at_once_and_the_same_bytes_are_a_no_op(ws):
    first = ws.uploads.add("heron.md", b"Project Heron ships on 14 March.", viewer=ENG)
    assert not first.unchanged and first.groups == ("eng",) and first.chunks >= 1
    assert [d.doc_id for d in ws.documents.list_documents(ENG)] == ["uploads/heron.md"]
    assert ws.documents.search("Heron ships", k=1, viewer=ENG).hits[0].chunk.doc_id == "uploads/heron.md"
    again = ws.uploads.add("heron.md", b"Project Heron ships on 14 March.", viewer=ENG)
    assert again.unchanged and again.version == first.version
    changed = ws.uploads.add("heron.md", b"Project Heron ships on 2 May.", viewer=ENG)
    assert changed.updated and changed.version != first.version


def test_a_key_gives_only_groups_it_holds(ws):
    assert ws.uploads.add("a.md", b"alpha text", groups="eng", viewer=BOTH).groups == ("eng",)
    with pytest.raises(PermissionDeniedError):
        ws.uploads.add("b.md", b"beta text", groups="eng,finance", viewer=ENG)
    assert ws.uploads.add("c.md", b"gamma text", groups="finance", viewer=ADMIN).groups == ("finance",)
    assert ws.uploads.add("d.md", b"delta text").groups == ()


def test_replacing_or_deleting_needs_every_group_of_the_document(ws, home):
    ws.uploads.add("shared.md", b"Shared plan text.", viewer=BOTH)  # groups eng + ops
    with pytest.raises(ConflictError):
        ws.uploads.add("shared.md", b"Hijacked.", viewer=ENG)  # would take it away from ops
    with pytest.raises(PermissionDeniedError):
        ws.uploads.delete("uploads/shared.md", ENG)
    ws.uploads.add("secret.md", b"Finance only.", groups="finance", viewer=ADMIN)
    with pytest.raises(ConflictError):
        ws.uploads.add("secret.md", b"Overwrite attempt.", viewer=ENG)
    with pytest.raises(NotFoundError):
        ws.uploads.delete("uploads/secret.md", ENG)
    assert ws.documents.document("uploads/secret.md").text == "Finance only."
    ws.uploads.delete("uploads/shared.md", BOTH)
    assert ws.documents.document("uploads/shared.md") is None
    assert not (home / "uploads" / "uploads" / "shared.md").exists()


def test_uploads_agree_with_a_sync_of_their_folder(ws, home):
    ws.uploads.add("one.md", b"First upload.", viewer=ENG)
    ws.uploads.add("two.md", b"Second upload.", viewer=ENG)
    ws.uploads.delete("uploads/two.md", ENG)
    report = ws.documents.sync_source("uploads")
    assert (report.unchanged, report.added, report.removed) == (1, 0, 0)
    assert ws.documents.document("uploads/one.md").groups == ("eng",)  # sync kept the groups


def test_a_source_ingested_from_elsewhere_is_not_an_upload_target(ws, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("Ingested by the CLI.")
    ws.documents.ingest([folder], groups=["eng"])
    with pytest.raises(ConflictError):
        ws.uploads.add("b.md", b"text", source="docs", viewer=ENG)
    with pytest.raises(PermissionDeniedError):  # not an upload: only admin keys delete it
        ws.uploads.delete("docs/a.md", ENG)
    ws.uploads.delete("docs/a.md", ADMIN)
    assert (folder / "a.md").exists() and ws.documents.document("docs/a.md") is None


def test_a_file_that_fails_to_parse_leaves_nothing_behind(ws, home):
    with pytest.raises(InputError):
        ws.uploads.add("empty.md", b"   \n")
    assert ws.documents.document("uploads/empty.md") is None
    assert not (home / "uploads" / "uploads" / "empty.md").exists()
    ws.uploads.add("keep.md", b"Kept text.")
    with pytest.raises(InputError):
        ws.uploads.add("keep.md", b"  ")
    assert (home / "uploads" / "uploads" / "keep.md").read_bytes() == b"Kept text."


def test_syncing_documents_of_mixed_groups_needs_the_groups_named(ws):
    ws.uploads.add("one.md", b"First upload.", viewer=ENG)
    ws.uploads.add("two.md", b"Second upload.", groups="finance", viewer=ADMIN)
    with pytest.raises(InputError, match="different groups"):
        ws.documents.sync_source("uploads")
    assert ws.documents.sync_source("uploads", groups=["eng"]).updated == 1
    with pytest.raises(NotFoundError):
        ws.documents.sync_source("nope")
