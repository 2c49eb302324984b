"""The document index component: ingest, sync, search, status over one store."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from ragtune.config import RetrievalConfig, Settings
from ragtune.errors import EmbedderMismatchError, IndexSchemaError, InputError, NotFoundError, StoreBusyError
from ragtune.ingest.gcpause import collector_paused
from ragtune.ingest.history import append_history, history_entry
from ragtune.ingest.pipeline import IngestReport, ProgressCallback, run_ingest
from ragtune.ingest.scancache import remove_cache
from ragtune.ingest.sources import ExpandedSources, expand_sources, file_in_folder
from ragtune.keys import parse_groups
from ragtune.models.embedder import Embedder
from ragtune.retrieve.searcher import Searcher, SearchResult
from ragtune.store.base import CollectStats, DocumentRecord, DocumentSummary, SourceRecord, Store
from ragtune.store.factory import open_store
from ragtune.types import Chunk, Filters, SearchMode, Viewer


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
        self.write_wait_seconds = 0.0

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

    def ingest(self, paths: Sequence[str | Path], *, source: str | None = None,
               groups: Sequence[str] | None = None, on_progress: ProgressCallback | None = None) -> IngestReport:
        """Add new and re-index changed documents; unchanged ones (same content hash) are skipped. Each path is
        a source, named ``source`` or after the path (see :mod:`ragtune.ingest.sources`). Without ``groups``,
        a source already in the index keeps the groups its documents hold (see :meth:`kept_groups`)."""
        return self._scan_and_write([Path(p) for p in paths], source, groups, False, on_progress, "ingest")

    def sync(self, root: str | Path, *, source: str | None = None, groups: Sequence[str] | None = None,
             on_progress: ProgressCallback | None = None) -> IngestReport:
        """Make that source mirror ``root`` (a folder or a corpus file): add new, re-index changed, remove its
        documents no longer there. Documents of other sources are never touched; without ``groups`` the source
        keeps the groups its documents hold."""
        path = Path(root)
        if not path.exists():
            raise InputError(f"{path}: no such folder or corpus file")
        return self._scan_and_write([path], source, groups, True, on_progress, "sync")

    def _scan_and_write(self, paths: list[Path], source: str | None, groups: Sequence[str] | None,
                        remove_missing: bool, on_progress: ProgressCallback | None,
                        kind: str) -> IngestReport:
        with collector_paused():  # see ragtune.ingest.gcpause: a full collection mid-sync cost 100-160 ms
            sources = expand_sources(paths, source, self.settings.ingest)
            return self._write(sources, self._groups_for(sources, groups), remove_missing, on_progress, kind)

    def kept_groups(self, names: Iterable[str]) -> tuple[str, ...]:
        """The access groups the documents of these sources hold now. Groups are part of each document's
        fingerprint, so writing without them would re-index every document as visible to every key: a re-ingest
        or re-sync that names no groups keeps them instead, and never widens access by accident."""
        names = set(names)
        held: dict[tuple[str, ...], str] = {}
        for source, groups in sorted(self.store.source_groups()):
            if source in names:
                held.setdefault(groups, source)
        if len(held) > 1:
            raise InputError(f"the documents of source(s) {', '.join(sorted(set(held.values())))} hold different "
                             "groups: pass --groups to say which groups to index them with")
        return next(iter(held), ())

    def _groups_for(self, sources: ExpandedSources, groups: Sequence[str] | None) -> Sequence[str]:
        return self.kept_groups(r.name for r in sources.roots) if groups is None else groups

    def ingest_folder_file(self, folder: Path, file: Path, source: str, groups: Sequence[str] = ()) -> IngestReport:
        """Index one file of a folder source (an upload) without rescanning the folder."""
        return self._write(file_in_folder(folder, file, source), groups, False, None, "upload")

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
                removed = self.store.remove_source(name)
                remove_cache(self.settings.home, name)
                report = IngestReport(removed=removed)
                report.count(name, "removed", removed)
                self._record_history("remove", report)
                return removed
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
               on_progress: ProgressCallback | None, kind: str) -> IngestReport:
        with self._write_lock():
            try:
                report = run_ingest(self.store, self.embedder, sources, self.settings, groups=groups,
                                    remove_missing=remove_missing, on_progress=on_progress)
                self._record_history(kind, report)
                return report
            finally:
                if self._searcher is not None:
                    self._searcher.invalidate()

    def _record_history(self, kind: str, report: IngestReport) -> None:
        """One line of the change history (see :mod:`ragtune.ingest.history`); the caller holds the write lock."""
        documents, chunks = self.store.counts()
        append_history(Path(self.settings.home), history_entry(kind, report, documents, chunks))

    @contextmanager
    def _write_lock(self) -> Iterator[None]:
        """One writer per home. A second writer waits up to ``write_wait_seconds`` (0 by default: the CLI fails
        fast with a clear message; ``ragtune serve`` waits, so its workers' writes queue instead of failing)."""
        home = Path(self.settings.home)
        home.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.write_wait_seconds
        with open(home / "write.lock", "w") as handle:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError as exc:
                    if time.monotonic() >= deadline:
                        raise StoreBusyError(f"another ragtune process is writing to {home}; wait for it to finish "
                                             "and retry") from exc
                    time.sleep(0.05)
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

    def search(self, query: str, *, mode: SearchMode = "hybrid", k: int = 10, filters: Filters | None = None,
               viewer: Viewer | None = None) -> SearchResult:
        """``viewer`` restricts the search to the documents that caller may see (inside the search: see
        :class:`Filters`); None is the local user, who sees everything."""
        return self.searcher.search(query, mode=mode, k=k, filters=with_viewer(filters, viewer))

    def document(self, doc_id: str, viewer: Viewer | None = None) -> DocumentRecord | None:
        """The document, or None when it does not exist or ``viewer`` may not see it (the same answer)."""
        record = self.store.get_document(doc_id)
        return record if record is not None and (viewer is None or viewer.sees(record.groups)) else None

    def chunks(self, doc_id: str, viewer: Viewer | None = None) -> list[Chunk]:
        return self.store.document_chunks(doc_id) if self.document(doc_id, viewer) is not None else []

    def list_documents(self, viewer: Viewer | None = None, source: str | None = None) -> list[DocumentSummary]:
        return [d for d in self.store.list_documents()
                if (viewer is None or viewer.sees(d.groups)) and (source is None or d.source == source)]

    def remove_documents(self, doc_ids: Sequence[str]) -> None:
        with self._write_lock():
            try:
                owners = self.store.document_sources()
                self.store.remove_documents(list(doc_ids))
                report = IngestReport(removed=len(doc_ids))
                for doc_id in doc_ids:
                    report.count(owners.get(doc_id, "?"), "removed")
                self._record_history("remove", report)
            finally:
                if self._searcher is not None:
                    self._searcher.invalidate()

    def sync_source(self, name: str, groups: Sequence[str] | None = None) -> IngestReport:
        """Sync a known source from its recorded root. Without ``groups`` the groups its documents hold now are
        kept (they are part of each document's fingerprint, so syncing with other groups re-indexes them under
        those): a re-sync never widens access by accident. Documents with differing groups need ``groups``."""
        record = next((s for s in self.store.sources() if s.name == name), None)
        if record is None:
            raise NotFoundError(f"source {name!r} is not in this index")
        return self.sync(record.root, source=name, groups=None if groups is None else parse_groups(groups))

    def status(self, viewer: Viewer | None = None) -> IndexStatus:
        if viewer is None or viewer.admin:
            documents, chunks = self.store.counts()
        else:
            visible = self.list_documents(viewer)
            documents, chunks = len(visible), sum(d.n_chunks for d in visible)
        where = self.store.describe()
        return IndexStatus(home=str(self.settings.home), backend=self.store.backend, documents=documents,
                           chunks=chunks, store_version=self.store.version(), embedder=self.embedder.model_id,
                           search="indexed" if self.store.uses_native_indexes() else "exact",
                           store=where["location"], server=where["server"])


def with_viewer(filters: Filters | None, viewer: Viewer | None) -> Filters | None:
    """``filters`` restricted to what ``viewer`` may see (unchanged for the local user and admin keys)."""
    if viewer is None or viewer.visibility is None:
        return filters
    return replace(filters or Filters(), groups=viewer.visibility)


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
    # a cache built by an older ragtune, or with another embedder (the main index's was rebuilt): rebuild it
    # rather than ask the user to
    except (IndexSchemaError, EmbedderMismatchError):
        shutil.rmtree(home)
        index = DocumentIndex(corpus_settings, embedder)
        index.sync(corpus_path)
    return index
