"""`ragtune gc`: old store versions are collected, except those an answer inside the retention window saw."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tests.conftest import write

from ragtune import Workspace
from ragtune.errors import VersionCollectedError
from ragtune.testing import FakeEmbedder, FakeGenerators

WINDOW_SECONDS = 4.0  # wide enough for the edits between the two asks on a loaded 2-core machine


def edit(workspace: Workspace, folder: Path, n: int) -> None:
    for i in range(n):
        write(folder / "memo.md", f"The budget owner is Dana Okafor. Revision {time.monotonic_ns()} {i}.\n"
                                  + "Filler sentence about nothing in particular. " * 200)
        workspace.documents.ingest([folder])


def test_gc_frees_old_versions_and_keeps_the_ones_recent_answers_pinned(tmp_path: Path):
    folder = tmp_path / "docs"
    workspace = Workspace(tmp_path / "home", embedder=FakeEmbedder(), generators=FakeGenerators())
    edit(workspace, folder, 1)
    stale = workspace.answers.ask("Who is the budget owner?")  # pins a version, then falls outside the window
    edit(workspace, folder, 5)
    time.sleep(WINDOW_SECONDS + 0.5)
    recent = workspace.answers.ask("Who is the budget owner?")  # a record inside the window, on an old version
    edit(workspace, folder, 5)

    report = workspace.gc(keep_days=WINDOW_SECONDS / 86400)
    assert report.pinned_records == 1
    assert report.stats.versions_kept == [recent.store_version]
    assert report.stats.versions_removed > 0 and report.home_bytes_after < report.home_bytes_before

    assert workspace.answers.replay(recent.audit_id).identical  # inside the window: still replayable
    with pytest.raises(VersionCollectedError, match="`ragtune gc` collected it") as error:
        workspace.answers.replay(stale.audit_id)
    assert error.value.exit_code == 3
    hits = workspace.documents.search("budget owner Dana Okafor", mode="bm25").hits  # the live index is intact
    assert hits and hits[0].chunk.doc_version == workspace.documents.document("docs/memo.md").version
