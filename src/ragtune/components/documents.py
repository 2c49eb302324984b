"""The document index component: ingest, sync, search, status over one store."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from ragtune.config import RetrievalConfig, Settings
from ragtune.errors import IndexSchemaError, InputError, StoreError
from ragtune.ingest.pipeline import IngestReport, ProgressCallback, run_ingest
from ragtune.ingest.sources import expand_sources
from ragtune.models.embedder import Embedder
from ragtune.retrieve.searcher import Searcher, SearchResult
from ragtune.store.base import CollectStats, DocumentRecord, SourceRecord, Store
from ragtune.store.factory import open_store
from ragtune.types import Filters, SearchMode


@dataclass(frozen=True)
class SourceStatus:
    """A source with what it holds now."""

    source: SourceRecord
    documents: int
    chunks: int

    def to_json(self) -> dict:
        return {**self.source.__dict__, "documents": self.documents, "chunks": self.chunks}


@dataclass(frozen=True)
class IndexStatus:
    home: str
    backend: str
    documents: int
    chunks: int
    store_version: int
    embedder: str
    search: str  # "exact" (in memory) or "indexed" (ANN + full-text indexes)
    store: str = ""  # where the index is: the Lance folder, or the database URL (password hidden) and schema
    server: str = ""  # what serves it, with its version ("PostgreSQL 18.1, pgvector 0.8.1")

    def to_json(self) -> dict:
        return dict(self.__dict__)


class DocumentIndex:
    """Documents in one store: add, mirror, search, look up.

    >>> docs = DocumentIndex(Settings(home="./.ragtune"), load_embedder())
    >>> docs.ingest(["docs/"]).added
    >>> docs.search("how do I sync a folder?", k=5).hits[0].chunk.text

    Without a ``store``, the configured one (see :func:`ragtune.store.factory.open_store`) is opened on first use,
    so building the component touches nothing on disk.
    """

    def __init__(self, settings: Settings, embedder: Embedder, store: Store | None = None) -> None:
        self.settings = settings
        self.embedder = embedder
        self._store = store
        self._searcher: Searcher | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.settings, self.embedder.model_id, self.embedder.dim)
        return self._store

    @property
    def searcher(self) -> Searcher:
        if self._searcher is None:
            self._searcher = Searcher(self.store, self.embedder, self.settings.retrieval)
        return self._searcher

    def searcher_at(self, version: int, retrieval: RetrievalConfig) -> Searcher:
        """A searcher over the store as it was at ``version`` (what an audited answer saw)."""
        pinned = open_store(self.settings, self.embedder.model_id, self.embedder.dim, version=version)
        return Searcher(pinned, self.embedder, retrieval)

    def ingest(self, paths: Sequence[str | Path], *, source: str | None = None, groups: Sequence[str] = (),
               on_progress: ProgressCallback | None = None) -> IngestReport:
        """Add new and re-index changed documents; unchanged ones (same content hash) are skipped. Each path is
        a source, named ``source`` or after the path (see :mod:`ragtune.ingest.sources`)."""
        sources = expand_sources([Path(p) for p in paths], source, self.settings.ingest)
        return self._write(sources, groups, False, on_progress)

    def sync(self, root: str | Path, *, source: str | None = None, groups: Sequence[str] = (),
             on_progress: ProgressCallback | None = None) -> IngestReport:
        """Make that source mirror ``root`` (a folder or a corpus file): add new, re-index changed, remove its
        documents no longer there. Documents of other sources are never touched."""
        path = Path(root)
        if not path.exists():
            raise InputError(f"{path}: no such folder or corpus file")
        return self._write(expand_sources([path], source, self.settings.ingest), groups, True, on_progress)

    def sources(self) -> list[SourceStatus]:
        counts = self.store.source_counts()
        return [SourceStatus(s, *counts.get(s.name, (0, 0))) for s in self.store.sources()]

    def remove_source(self, name: str) -> int:
        """Delete a source and all its documents; returns how many documents went."""
        if name not in {s.name for s in self.store.sources()}:
            known = ", ".join(s.name for s in self.store.sources()) or "none"
            raise InputError(f"source {name!r} is not in this index (sources: {known})")
        with self._write_lock():
            try:
                return self.store.remove_source(name)
            finally:
                if self._searcher is not None:
                    self._searcher.invalidate()

    def resolve_ids(self, doc_ids: Iterable[str]) -> dict[str, str]:
        """Document ids as eval sets may write them → stored ids: the stored id itself, or a file's path inside
        its source (``guide/intro.md`` for ``docs/guide/intro.md``) when exactly one source holds it; an id
        that matches nothing maps to itself."""
        stored = self.store.document_sources()
        inside: dict[str, list[str]] = {}
        for doc_id in stored:
            if "/" in doc_id:
                inside.setdefault(doc_id.split("/", 1)[1], []).append(doc_id)
        resolved = {}
        for doc_id in doc_ids:
            candidates = inside.get(doc_id, [])
            resolved[doc_id] = candidates[0] if doc_id not in stored and len(candidates) == 1 else doc_id
        return resolved

    def _write(self, sources, groups: Sequence[str], remove_missing: bool,
               on_progress: ProgressCallback | None) -> IngestReport:
        with self._write_lock():
            try:
                return run_ingest(self.store, self.embedder, sources, self.settings, groups=groups,
                                  remove_missing=remove_missing, on_progress=on_progress)
            finally:
                if self._searcher is not None:
                    self._searcher.invalidate()

    @contextmanager
    def _write_lock(self) -> Iterator[None]:
        """One writer per home: a second writer fails fast with a clear message instead of waiting."""
        home = Path(self.settings.home)
        home.mkdir(parents=True, exist_ok=True)
        with open(home / "write.lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise StoreError(f"another ragtune process is writing to {home}; wait for it to finish and "
                                 "retry") from exc
            handle.write(str(os.getpid()))
            handle.flush()
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def collect(self, older_than: timedelta, keep: set[int]) -> CollectStats:
        """Compact the store and delete versions older than ``older_than`` except ``keep`` (see ``ragtune gc``)."""
        with self._write_lock():
            try:
                return self.store.collect(older_than, keep)
            finally:
                if self._searcher is not None:
                    self._searcher.invalidate()

    def search(self, query: str, *, mode: SearchMode = "hybrid", k: int = 10,
               filters: Filters | None = None) -> SearchResult:
        return self.searcher.search(query, mode=mode, k=k, filters=filters)

    def document(self, doc_id: str) -> DocumentRecord | None:
        return self.store.get_document(doc_id)

    def status(self) -> IndexStatus:
        documents, chunks = self.store.counts()
        where = self.store.describe()
        return IndexStatus(home=str(self.settings.home), backend=self.store.backend, documents=documents,
                           chunks=chunks, store_version=self.store.version(), embedder=self.embedder.model_id,
                           search="indexed" if self.store.uses_native_indexes() else "exact",
                           store=where["location"], server=where["server"])


def corpus_index(settings: Settings, embedder: Embedder, corpus: str | Path) -> DocumentIndex:
    """An index of an eval or training corpus, kept in ``eval-index/<hash of its path>`` under the home and
    synced on each use (unchanged documents cost nothing; changed ones are re-indexed, removed ones dropped), so
    evaluations see the corpus as it is now."""
    corpus_path = Path(corpus)
    if not corpus_path.exists():
        raise InputError(f"{corpus_path}: no such corpus file or folder")
    key = hashlib.sha256(str(corpus_path.resolve()).encode()).hexdigest()[:12]
    home = Path(settings.home) / "eval-index" / key
    # a shared store (PostgreSQL) keeps it apart from the main index under its own namespace
    corpus_settings = replace(settings, home=home, store_namespace=f"eval_{key}")
    index = DocumentIndex(corpus_settings, embedder)
    try:
        # mirrored, not just added to: a line removed from the corpus file must not linger as a gold document
        index.sync(corpus_path)
    except IndexSchemaError:  # a cache built by an older ragtune: rebuild it rather than ask the user to
        shutil.rmtree(home)
        index = DocumentIndex(corpus_settings, embedder)
        index.sync(corpus_path)
    return index
