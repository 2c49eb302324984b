"""Re-indexing is atomic for readers: a writer killed (SIGKILL) at any point while another process searches
leaves every document searchable at its old or its new version, and the next run converges to a clean index."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import write

from ragtune import Workspace
from ragtune.testing import FakeEmbedder

N_DOCS = 12
WRITER = """
import sys, time
from pathlib import Path
from ragtune import Workspace
from ragtune.testing import FakeEmbedder
home, folder = Path(sys.argv[1]), Path(sys.argv[2])
workspace = Workspace(home, embedder=FakeEmbedder())
for round_ in range(10_000):
    for i in range({n}):
        body = " ".join(f"revision{{round_}} sentence{{k}} of document{{i}}." for k in range(40))
        (folder / f"doc{{i}}.md").write_text(f"# Document {{i}}\\n\\ncommon words here. {{body}}\\n")
    workspace.documents.ingest([folder])
""".format(n=N_DOCS)


def visible_versions(workspace: Workspace) -> dict[str, set[str]]:
    """doc id → the versions of its chunks a search for a word in every chunk returns."""
    hits = workspace.documents.search("common words sentence0", mode="bm25", k=10_000).hits
    found: dict[str, set[str]] = {}
    for hit in hits:
        found.setdefault(hit.chunk.doc_id, set()).add(hit.chunk.doc_version)
    return found


def test_a_killed_reindex_never_shows_a_document_without_chunks_or_with_two_versions(tmp_path: Path):
    home, folder = tmp_path / "home", tmp_path / "docs"
    for i in range(N_DOCS):
        write(folder / f"doc{i}.md", f"# Document {i}\n\ncommon words here. sentence0 of document{i}.\n")
    Workspace(home, embedder=FakeEmbedder()).documents.ingest([folder])
    expected = {f"docs/doc{i}.md" for i in range(N_DOCS)}
    rng = random.Random(7)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[2] / "src"),
                                                         os.environ.get("PYTHONPATH", "")]))
    checks = 0
    for _ in range(4):  # four kills at different points of a re-index
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(home), str(folder)], env=env)
        deadline = time.monotonic() + rng.uniform(2.0, 6.0)
        while time.monotonic() < deadline:
            reader = Workspace(home, embedder=FakeEmbedder())  # a fresh reader: no cached state
            seen = visible_versions(reader)
            assert set(seen) == expected, f"documents without chunks: {sorted(expected - set(seen))}"
            assert all(len(v) == 1 for v in seen.values()), f"two versions mixed: {seen}"
            checks += 1
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
        seen = visible_versions(Workspace(home, embedder=FakeEmbedder()))
        assert set(seen) == expected and all(len(v) == 1 for v in seen.values())
    assert checks >= 4

    # a re-run converges to what a clean ingest of the same files gives
    crashed = Workspace(home, embedder=FakeEmbedder())
    crashed.documents.sync(folder)
    clean = Workspace(tmp_path / "clean", embedder=FakeEmbedder())
    clean.documents.ingest([folder])

    def rows(workspace: Workspace) -> list[tuple]:
        table = workspace.documents.store.chunk_columns()
        return sorted(zip(table["chunk_id"].to_pylist(), table["text"].to_pylist()))

    assert rows(crashed) == rows(clean)
    assert crashed.documents.store.inconsistent_documents() == set()
