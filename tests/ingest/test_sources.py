"""Expanding a folder into documents: which files, in which order, with which ids and paths."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import write

from ragtune.config import IngestConfig
from ragtune.ingest.sources import expand_sources


def listing(path: Path) -> list[tuple[str, str]]:
    return [(r.doc_id, r.source_path) for r in expand_sources([path]).refs]


def test_a_folder_lists_its_files_in_path_order_with_ids_inside_the_source(tmp_path):
    docs = tmp_path / "docs"
    for name in ("b.md", "a/z.txt", "a/b/c.md", "a.md", "A.md", "a-b.md"):
        write(docs / name, f"text of {name}")
    expected = sorted(["b.md", "a/z.txt", "a/b/c.md", "a.md", "A.md", "a-b.md"], key=lambda n: Path(n).parts)
    assert listing(docs) == [(f"docs/{n}", str(docs / n)) for n in expected]


def test_hidden_files_and_everything_in_hidden_folders_are_left_out(tmp_path):
    docs = tmp_path / "docs"
    write(docs / "kept.md", "kept")
    write(docs / ".hidden.md", "secret")
    write(docs / ".git" / "notes.md", "git internals")
    write(docs / "sub" / ".cache" / "x.md", "cache")
    assert listing(docs) == [("docs/kept.md", str(docs / "kept.md"))]


def test_unsupported_files_are_counted_as_skipped_and_odd_names_are_not_read_as_types(tmp_path):
    docs = tmp_path / "docs"
    write(docs / "note.MD", "upper-case suffix")
    write(docs / "image.png", "not text")
    write(docs / "trailing.", "no suffix")
    write(docs / "README", "no suffix at all")
    expanded = expand_sources([docs])
    assert [r.doc_id for r in expanded.refs] == ["docs/note.MD"] and expanded.skipped == 3


def test_symlinked_files_are_read_and_symlinked_folders_are_not_followed(tmp_path):
    docs = tmp_path / "docs"
    write(docs / "own.md", "own")
    elsewhere = write(tmp_path / "elsewhere" / "linked.md", "linked")
    (docs / "link.md").symlink_to(elsewhere)
    (docs / "folder-link").symlink_to(elsewhere.parent, target_is_directory=True)
    (docs / "dangling.md").symlink_to(tmp_path / "missing.md")
    assert [d for d, _ in listing(docs)] == ["docs/link.md", "docs/own.md"]


def test_paths_are_spelled_as_given(tmp_path, monkeypatch):
    write(tmp_path / "docs" / "sub" / "a.md", "a")
    monkeypatch.chdir(tmp_path)
    assert listing(Path("docs/")) == [("docs/sub/a.md", "docs/sub/a.md")]
    monkeypatch.chdir(tmp_path / "docs")
    ref = expand_sources([Path(".")], source="here").refs[0]
    assert (ref.doc_id, ref.source_path, ref.file) == ("here/sub/a.md", "sub/a.md", Path("sub/a.md"))
    assert ref.raw(IngestConfig()) == b"a"
