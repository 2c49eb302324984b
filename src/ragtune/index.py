"""``ragtune.Index``: the Python API over one ragtune home (the CLI is a thin shell over it)."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator, Sequence

from ragtune.config import Settings, resolve_home
from ragtune.errors import InputError, StoreError
from ragtune.ingest.pipeline import IngestReport, ProgressCallback, run_ingest
from ragtune.ingest.sources import expand_sources
from ragtune.models.embedder import Embedder, load_embedder
from ragtune.retrieve.filters import Filters
from ragtune.retrieve.searcher import Searcher, SearchResult
from ragtune.store.base import DocumentRecord, Store
from ragtune.store.lance import LanceStore
from ragtune.types import SearchMode


@dataclass(frozen=True)
class IndexStatus:
    home: str
    backend: str
    documents: int
    chunks: int
    store_version: int
    embedder: str
    search: str  # "exact" (in memory) or "indexed" (ANN + full-text indexes)

    def to_json(self) -> dict:
        return dict(self.__dict__)


class Index:
    """A document index in a ragtune home: ingest, sync, search, status.

    >>> index = Index("./.ragtune")
    >>> index.ingest(["docs/"]).added
    >>> index.search("how do I sync a folder?", k=5).hits[0].chunk.text
    """

    def __init__(
        self,
        home: str | Path | None = None,
        *,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        store: Store | None = None,
    ) -> None:
        settings = settings or Settings()
        if home is not None:
            settings = replace(settings, home=resolve_home(home))
        self.settings = settings
        self.home = settings.home
        self.embedder = embedder or load_embedder(settings.embedder, settings.device)
        self._store = store
        self._searcher: Searcher | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = LanceStore(self.home / "lance", self.embedder.model_id, self.embedder.dim)
        return self._store

    @property
    def searcher(self) -> Searcher:
        if self._searcher is None:
            self._searcher = Searcher(self.store, self.embedder, self.settings.retrieval)
        return self._searcher

    @contextmanager
    def _write_lock(self) -> Iterator[None]:
        """One writer per home: a second ingest waits for nothing and fails fast with a clear message."""
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.home / "write.lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise StoreError(
                    f"another ragtune process is writing to {self.home}; wait for it to finish and retry"
                ) from exc
            handle.write(str(os.getpid()))
            handle.flush()
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def ingest(
        self,
        paths: Sequence[str | Path],
        *,
        groups: Sequence[str] = (),
        on_progress: ProgressCallback | None = None,
    ) -> IngestReport:
        """Add new and re-index changed documents; unchanged ones (same content hash) are skipped."""
        sources = expand_sources([Path(p) for p in paths])
        with self._write_lock():
            try:
                return run_ingest(self.store, self.embedder, sources, self.settings, groups=groups,
                                  on_progress=on_progress)
            finally:
                self._after_write()

    def sync(
        self, directory: str | Path, *, groups: Sequence[str] = (), on_progress: ProgressCallback | None = None
    ) -> IngestReport:
        """Make the index mirror ``directory``: add new, re-index changed, remove documents no longer there."""
        path = Path(directory)
        if not path.is_dir():
            raise InputError(f"{path}: not a folder (sync mirrors a folder; use ingest for single files)")
        sources = expand_sources([path])
        with self._write_lock():
            try:
                return run_ingest(self.store, self.embedder, sources, self.settings, groups=groups,
                                  remove_missing=True, on_progress=on_progress)
            finally:
                self._after_write()

    def _after_write(self) -> None:
        if self._searcher is not None:
            self._searcher.invalidate()

    def search(
        self, query: str, *, mode: SearchMode = "hybrid", k: int = 10, filters: Filters | None = None
    ) -> SearchResult:
        return self.searcher.search(query, mode=mode, k=k, filters=filters)

    def document(self, doc_id: str) -> DocumentRecord | None:
        return self.store.get_document(doc_id)

    def status(self) -> IndexStatus:
        documents, chunks = self.store.counts()
        return IndexStatus(
            home=str(self.home),
            backend=self.store.backend,
            documents=documents,
            chunks=chunks,
            store_version=self.store.version(),
            embedder=self.embedder.model_id,
            search="indexed" if self.store.uses_native_indexes() else "exact",
        )
