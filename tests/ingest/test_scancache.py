"""A sync reads only the files whose state changed since they were hashed, and never trusts the cache over
the store or over a file written too recently for its timestamp to tell."""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, replace
from pathlib import Path

import pytest
from tests.conftest import write

import ragtune.ingest.scancache as scancache
import ragtune.ingest.sources as sources
from ragtune.config import Settings
from ragtune.ingest.pipeline import PIPELINE_VERSION, Fingerprinter
from ragtune.ingest.scancache import FileState, ScanCache, cache_path, file_state
from ragtune.ingest.sources import SourceRef
from ragtune.testing import FakeEmbedder
from ragtune.workspace import Workspace

OLD = time.time() - 3600  # a modification time well outside the racy window


def make_folder(root: Path, n: int = 4) -> Path:
    for i in range(n):
        path = write(root / f"note{i}.md", f"# Note {i}\n\nThe word{i} appears in note {i}.\n")
        os.utime(path, (OLD, OLD))
    return root


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """The files read for their bytes (the size check and the read: what the cache saves)."""
    seen: list[str] = []
    real = sources.read_limited

    def counting(path, source, max_bytes):
        seen.append(source)
        return real(path, source, max_bytes)

    monkeypatch.setattr(sources, "read_limited", counting)
    return seen


def test_the_fingerprint_hashes_the_bytes_stored_indexes_hold():
    # what every index built so far stored: a different value would re-index every document once
    settings, ref = Settings(home="/tmp/unused"), SourceRef("docs/a.md", "/data/docs/a.md", on_disk=True)
    shape = json.dumps({"pipeline": PIPELINE_VERSION, "source_path": ref.source_path,
                        "chunking": asdict(settings.chunking), "embedder": "m", "groups": ["a", "b"]},
                       sort_keys=True)
    expected = hashlib.sha256(shape.encode() + b"\0" + b"raw bytes").hexdigest()
    assert Fingerprinter.for_run(settings, "m", ["b", "a"])(ref, b"raw bytes") == expected
    quoted = SourceRef("d/\"q\".md", '/data/"q" ü.md', on_disk=True)
    shape = shape.replace(json.dumps(ref.source_path), json.dumps(quoted.source_path))
    assert Fingerprinter.for_run(settings, "m", ["a", "b"])(quoted, b"") == hashlib.sha256(
        shape.encode() + b"\0").hexdigest()


def test_an_unchanged_folder_is_synced_without_reading_a_file(home, tmp_path, reads):
    docs = make_folder(tmp_path / "docs")
    index = Workspace(home, embedder=FakeEmbedder()).documents
    assert index.sync(docs).added == 4 and len(reads) == 4
    reads.clear()
    report = index.sync(docs)
    assert (report.unchanged, report.updated, reads) == (4, 0, [])


def test_an_edit_is_seen_even_when_size_and_modification_time_are_put_back(home, tmp_path, reads):
    docs = make_folder(tmp_path / "docs")
    index = Workspace(home, embedder=FakeEmbedder()).documents
    index.sync(docs)
    path = docs / "note1.md"
    text = path.read_text()
    path.write_text(text.replace("word1", "WORD1"))  # same size
    os.utime(path, (OLD, OLD))  # same modification time: only the change time moved
    reads.clear()
    report = index.sync(docs)
    assert (report.updated, report.unchanged, reads) == (1, 3, [str(path)])
    assert "WORD1" in index.document("docs/note1.md").text


def test_a_file_too_recent_for_its_timestamp_to_vouch_is_read_again_next_time(home, tmp_path, reads):
    docs = make_folder(tmp_path / "docs")
    fresh = write(docs / "fresh.md", "# Fresh\n\njust written\n")
    ahead = time.time() + 30  # modified "after" it is read (a clock ahead): it may change again in that tick
    os.utime(fresh, (ahead, ahead))
    index = Workspace(home, embedder=FakeEmbedder()).documents
    index.sync(docs)
    reads.clear()
    assert index.sync(docs).unchanged == 5 and reads == [str(fresh)]
    os.utime(fresh, (OLD, OLD))  # old enough now (and its change time moved: read once more, then trusted)
    index.sync(docs)
    reads.clear()
    assert index.sync(docs).unchanged == 5 and reads == []


def test_the_store_not_the_cache_decides_what_is_indexed(home, tmp_path, reads):
    docs = make_folder(tmp_path / "docs")
    index = Workspace(home, embedder=FakeEmbedder()).documents
    index.sync(docs)
    index.remove_documents(["docs/note2.md"])  # the cache still remembers its file as hashed
    reads.clear()
    report = index.sync(docs)
    assert (report.added, report.unchanged, reads) == (1, 3, [str(docs / "note2.md")])


def test_other_settings_or_a_damaged_cache_file_mean_reading_everything(home, tmp_path, reads):
    docs = make_folder(tmp_path / "docs")
    settings = Settings(home=home)
    Workspace(home, embedder=FakeEmbedder(), settings=settings).documents.sync(docs)
    rechunked = replace(settings, chunking=replace(settings.chunking, target_tokens=120))
    reads.clear()
    report = Workspace(home, embedder=FakeEmbedder(), settings=rechunked).documents.sync(docs)
    assert report.updated == 4 and len(reads) == 4  # the settings are part of every fingerprint
    cache_path(home, "docs").write_text("{not json")
    reads.clear()
    assert Workspace(home, embedder=FakeEmbedder(), settings=rechunked).documents.sync(docs).unchanged == 4
    assert len(reads) == 4


def test_a_lower_size_limit_refuses_a_remembered_file_again(home, tmp_path, reads):
    docs = make_folder(tmp_path / "docs", n=1)
    write(docs / "big.md", "# Big\n\n" + "word " * 400)
    os.utime(docs / "big.md", (OLD, OLD))
    settings = Settings(home=home)
    Workspace(home, embedder=FakeEmbedder(), settings=settings).documents.sync(docs)
    strict = replace(settings, ingest=replace(settings.ingest, max_file_bytes=1000))
    report = Workspace(home, embedder=FakeEmbedder(), settings=strict).documents.sync(docs)
    assert [f.source for f in report.failed] == [str(docs / "big.md")] and report.removed == 0


def test_the_cache_forgets_files_that_left_the_folder(home, tmp_path):
    docs = make_folder(tmp_path / "docs")
    index = Workspace(home, embedder=FakeEmbedder()).documents
    index.sync(docs)
    (docs / "note3.md").unlink()
    index.sync(docs)
    remembered = from_disk(cache_path(home, "docs")).documents()
    assert remembered == {"docs/note0.md", "docs/note1.md", "docs/note2.md"}
    index.remove_source("docs")
    assert not cache_path(home, "docs").exists() and not journal_of(cache_path(home, "docs")).exists()


def from_disk(path: Path) -> ScanCache:
    """The cache as a new process would load it (not the one this process holds)."""
    scancache._HELD.clear()
    return ScanCache.load(path, json.loads(path.read_text())["shape"])


def journal_of(path: Path) -> Path:
    return path.with_name(path.name + ".journal")


def test_a_sync_that_changes_a_few_files_appends_them_instead_of_rewriting_every_entry(home, tmp_path, reads):
    docs = make_folder(tmp_path / "docs", n=6)
    index = Workspace(home, embedder=FakeEmbedder()).documents
    index.sync(docs)
    path = cache_path(home, "docs")
    whole = path.stat()
    write(docs / "note1.md", "# Note 1\n\nRewritten.\n")
    os.utime(docs / "note1.md", (OLD + 60, OLD + 60))
    (docs / "note4.md").unlink()
    index.sync(docs)
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (whole.st_ino, whole.st_mtime_ns)
    assert len(journal_of(path).read_text().splitlines()) == 1 + 2  # its header, then the two changes
    reads.clear()
    assert Workspace(home, embedder=FakeEmbedder()).documents.sync(docs).unchanged == 5
    assert reads == []  # the whole file and the journal together remember every file
    assert from_disk(path).documents() == {f"docs/note{i}.md" for i in (0, 1, 2, 3, 5)}


def test_a_long_journal_is_folded_into_a_new_whole_file(home, tmp_path, monkeypatch):
    monkeypatch.setattr(scancache, "JOURNAL_MIN_LINES", 2)
    docs = make_folder(tmp_path / "docs", n=4)
    index = Workspace(home, embedder=FakeEmbedder()).documents
    index.sync(docs)
    path = cache_path(home, "docs")
    for i in range(3):
        write(docs / f"note{i}.md", f"# Note {i}\n\nRewritten.\n")
        os.utime(docs / f"note{i}.md", (OLD + 60, OLD + 60))
        index.sync(docs)
    assert journal_of(path).read_text().count("\n") <= 2  # folded in: at most the header and one more line
    assert from_disk(path).documents() == {f"docs/note{i}.md" for i in range(4)}


def saved_cache(tmp_path: Path) -> tuple[Path, FileState, ScanCache]:
    """A cache file remembering one document, and the cache that saved it."""
    path = tmp_path / "cache.json"
    state = file_state(write(tmp_path / "a.md", "a"))._replace(mtime_ns=0)
    cache = ScanCache(path, "shape")
    cache.remember("d/a.md", "a.md", state, "fp", time.time_ns())
    cache.save()
    return path, state, cache


def test_a_process_uses_the_cache_it_holds_until_another_process_changes_the_files(tmp_path):
    path, state, cache = saved_cache(tmp_path)
    assert ScanCache.load(path, "shape") is cache  # nothing to parse again
    with open(journal_of(path), "a") as journal:  # another process's sync
        journal.write(json.dumps(["d/b.md", ["b.md", *state, "fp-b"]]) + "\n")
    again = ScanCache.load(path, "shape")
    assert again is not cache and again.documents() == {"d/a.md", "d/b.md"}
    assert ScanCache.load(path, "other shape").documents() == set()


def test_a_torn_line_or_a_journal_of_other_settings_only_costs_reading_files_again(tmp_path):
    path, state, _ = saved_cache(tmp_path)
    # a torn append, then two more appends: the first of them lands on the torn line
    with open(journal_of(path), "a") as journal:
        journal.write(json.dumps(["d/b.md", ["b.md", *state, "fp-b"]]) + "\n" + '["d/c.md", ["c.md", 1, 2')
        for doc in ("d", "e"):
            journal.write(json.dumps([f"d/{doc}.md", [f"{doc}.md", *state, f"fp-{doc}"]]) + "\n")
    assert from_disk(path).documents() == {"d/a.md", "d/b.md", "d/e.md"}
    other_settings = '{"format":1,"shape":"other"}\n'
    journal_of(path).write_text(other_settings + json.dumps(["d/b.md", ["b.md", *state, "x"]]))
    held = from_disk(path)
    assert held.documents() == {"d/a.md"}
    held.remember("d/a.md", "a.md", state, "fp2", time.time_ns())
    held.save()  # a journal of other settings is never appended to: every entry is written anew
    assert from_disk(path).fingerprint("d/a.md", "a.md", state) == "fp2"
    assert journal_of(path).read_text() == '{"format":1,"shape":"shape"}\n'


def test_a_remembered_state_must_match_exactly(tmp_path):
    path = write(tmp_path / "a.md", "a")
    os.utime(path, (OLD, OLD))
    state = file_state(path)
    cache = ScanCache(tmp_path / "cache.json", "shape")
    cache.remember("d/a.md", str(path), state, "fp", time.time_ns())
    assert cache.fingerprint("d/a.md", str(path), state) == "fp"
    assert cache.fingerprint("d/a.md", "/elsewhere/a.md", state) is None
    assert cache.fingerprint("d/a.md", str(path), state._replace(size=state.size + 1)) is None
    cache.save()
    assert ScanCache.load(tmp_path / "cache.json", "shape").fingerprint("d/a.md", str(path), state) == "fp"
    other = ScanCache.load(tmp_path / "cache.json", "other shape")
    assert other.fingerprint("d/a.md", str(path), state) is None
    now = time.time_ns()
    recent = state._replace(mtime_ns=now - 10_000_000)  # 10 ms before the check: the same clock tick, maybe
    cache.remember("d/a.md", str(path), recent, "fp2", now)
    assert cache.fingerprint("d/a.md", str(path), recent) is None and file_state(tmp_path / "missing") is None
