"""Ingest: plan (hash → unchanged / changed), then parse → normalize → chunk → embed → store in batches.

Planning reads raw bytes only, so an unchanged corpus costs a hash per document and no parsing or embedding.
Changed documents are written in batches; unchanged chunk texts of an updated document reuse their stored
vectors. ``remove_missing`` (sync) also deletes documents that are no longer among the sources, except ones that
failed to read this time — a transient read or parse error never deletes indexed content.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ragtune.config import IngestConfig, Settings
from ragtune.errors import InputError, ParseError
from ragtune.ingest.chunker import chunk_document
from ragtune.ingest.normalize import normalize_document
from ragtune.ingest.planner import plan_sync
from ragtune.ingest.scancache import ScanCache, cache_path, file_state
from ragtune.ingest.sources import ExpandedSources, SourceFailure, SourceRef, SourceRoot
from ragtune.models.embedder import Embedder
from ragtune.store.base import ChunkBatch, DocumentRecord, SourceRecord, Store
from ragtune.text import analyze, sha256_text
from ragtune.types import Chunk, Document

# Bump when parsing, normalization or chunking changes output, so every document is re-indexed once.
PIPELINE_VERSION = 1
FLUSH_CHUNKS = 512
FEW_FILES = 64  # up to this many files, the plan reads the stored rows of those documents only


@dataclass(frozen=True)
class Progress:
    phase: str  # "scan" (hashing sources), "parse" (documents chunked), "embed" (chunks embedded so far)
    done: int
    total: int


ProgressCallback = Callable[[Progress], None]


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks: int = 0
    embedded: int = 0
    reused_vectors: int = 0
    skipped: int = 0
    orphans_removed: int = 0
    failed: list[SourceFailure] = field(default_factory=list)
    seconds: float = 0.0
    store_version: int = 0
    # source name → {"added", "updated", "removed", "unchanged"} documents: what the sync history records
    by_source: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, source: str, what: str, n: int = 1) -> None:
        counts = self.by_source.setdefault(source, dict.fromkeys(("added", "updated", "removed", "unchanged"), 0))
        counts[what] += n

    def to_json(self) -> dict:
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        return data


@dataclass(frozen=True)
class Fingerprinter:
    """``fingerprint(ref, raw)``: the SHA-256 of everything that shapes a document's chunks and vectors — the
    pipeline version, the chunking settings, the embedder, its groups (``shared``: the same for a whole run,
    so serialized once), its source path — and its raw bytes; equal fingerprints mean nothing to do. Stored
    indexes hold these values, so the bytes hashed must not change: the sorted-keys JSON of those fields
    (``source_path`` sorts last), a NUL, the raw bytes."""

    shared: str

    @classmethod
    def for_run(cls, settings: Settings, embedder_id: str, groups: Sequence[str]) -> Fingerprinter:
        return cls(json.dumps({"pipeline": PIPELINE_VERSION, "chunking": asdict(settings.chunking),
                               "embedder": embedder_id, "groups": sorted(groups)}, sort_keys=True))

    def __call__(self, ref: SourceRef, raw: bytes) -> str:
        shape = f'{self.shared[:-1]}, "source_path": {json.dumps(ref.source_path)}}}'
        digest = hashlib.sha256(shape.encode())
        digest.update(b"\0")
        digest.update(raw)
        return digest.hexdigest()


@dataclass
class _Pending:
    documents: list[DocumentRecord] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)


def _prepare(ref: SourceRef, settings: Settings, embedder: Embedder) -> tuple[Document, list[Chunk]]:
    parsed = ref.parse(settings.ingest)
    fallback = ref.file.name if ref.file is not None else ref.doc_id
    doc = normalize_document(
        parsed, doc_id=ref.doc_id, source_path=ref.source_path, metadata=ref.metadata, fallback_title=fallback
    )
    if not doc.text:
        raise ParseError(ref.source_path, "no text content after normalization")
    return doc, chunk_document(doc, settings.chunking, embedder.count_tokens)


def run_ingest(
    store: Store,
    embedder: Embedder,
    sources: ExpandedSources,
    settings: Settings,
    *,
    groups: Sequence[str] = (),
    remove_missing: bool = False,
    on_progress: ProgressCallback | None = None,
) -> IngestReport:
    started = time.perf_counter()
    known_sources = {s.name: s for s in store.sources()}
    _check_roots(known_sources, sources.roots)
    report = IngestReport(failed=list(sources.failures), skipped=sources.skipped)
    # A few files (an upload, one changed file) need the rows of their own ids only, not of the whole index.
    few = None if remove_missing or len(sources.refs) > FEW_FILES else [ref.doc_id for ref in sources.refs]
    state = store.write_state(few)
    owners = state.sources
    names = {r.name for r in sources.roots}
    # only this run's sources are planned against: sync never touches another source's documents
    existing = {i: fp for i, fp in state.fingerprints.items() if owners.get(i) in names}
    for doc_id in state.inconsistent & set(existing):
        existing[doc_id] = ""  # its chunks do not match its row (a write cut short): index it again
    notify = on_progress or (lambda _p: None)
    fingerprint = Fingerprinter.for_run(settings, embedder.model_id, groups)
    caches = _scan_caches(sources, settings, fingerprint) if few is None else {}

    incoming: dict[str, str] = {}
    unreadable: list[str] = []
    refs: dict[str, SourceRef] = {}
    for i, ref in enumerate(sources.refs):
        owner = owners.get(ref.doc_id)
        if owner is not None and owner != ref.source:
            report.failed.append(SourceFailure(ref.source_path, f"document id {ref.doc_id!r} already belongs to "
                                               f"source {owner!r}; corpus ids must be unique across sources (rename "
                                               f"it, or `ragtune sources remove {owner}`)"))
            continue
        try:
            incoming[ref.doc_id] = _fingerprint(ref, fingerprint, settings.ingest, caches.get(ref.source),
                                                existing.get(ref.doc_id))
            refs[ref.doc_id] = ref
        except ParseError as exc:
            report.failed.append(SourceFailure(exc.source, exc.reason))
            unreadable.append(ref.doc_id)
        if i % 256 == 0:
            notify(Progress("scan", i + 1, len(sources.refs)))
    notify(Progress("scan", len(sources.refs), len(sources.refs)))
    plan = plan_sync(existing, incoming, remove_missing=remove_missing, unreadable=unreadable)
    report.unchanged = len(plan.unchanged)
    for root in sources.roots:
        report.count(root.name, "unchanged", 0)  # every source of the run appears, changed or not
    for doc_id in plan.unchanged:
        report.count(owners.get(doc_id) or refs[doc_id].source, "unchanged")
    changed = [(refs[doc_id], incoming[doc_id]) for doc_id in plan.to_index]

    pending = _Pending()
    written: set[str] = set()
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for done, (ref, fp) in enumerate(changed, start=1):
        try:
            doc, chunks = _prepare(ref, settings, embedder)
        except ParseError as exc:
            report.failed.append(SourceFailure(exc.source, exc.reason))
            continue
        pending.documents.append(
            DocumentRecord(doc.doc_id, doc.version, fp, doc.source_path, doc.title, doc.text, doc.metadata,
                           tuple(sorted(groups)), len(chunks), now, ref.source)
        )
        pending.chunks.extend(chunks)
        written.add(doc.doc_id)
        if ref.doc_id in existing:
            report.updated += 1
            report.count(ref.source, "updated")
        else:
            report.added += 1
            report.count(ref.source, "added")
        notify(Progress("parse", done, len(changed)))
        if len(pending.chunks) >= FLUSH_CHUNKS:
            _flush(store, embedder, settings, pending, existing, groups, report, notify)
            pending = _Pending()
    _flush(store, embedder, settings, pending, existing, groups, report, notify)

    if remove_missing:
        store.remove_documents(plan.removed)
        report.removed = len(plan.removed)
        for doc_id in plan.removed:
            report.count(owners.get(doc_id, "?"), "removed")
        # chunks without a row when the run began, unless this run has written their document since
        orphans = sorted(set(state.orphans) - written)
        store.remove_documents(orphans)
        report.orphans_removed = sum(state.orphans[d] for d in orphans)
    _save_roots(store, known_sources, sources.roots, now)
    for name, cache in caches.items():  # each root was listed whole: what it no longer holds is forgotten
        cache.keep_only({ref.doc_id for ref in sources.refs if ref.source == name})
        cache.save()
    store.ensure_indexes(settings.retrieval.exact_max_chunks)
    report.store_version = store.version()
    report.seconds = time.perf_counter() - started
    return report


def _scan_caches(sources: ExpandedSources, settings: Settings,
                 fingerprint: Fingerprinter) -> dict[str, ScanCache]:
    """The scan cache of each file or folder source of the run (corpus records are in memory: nothing to
    skip). The size limit is part of its shape: a file remembered under a larger limit must be refused
    again."""
    shape = f"{fingerprint.shared}\0max_file_bytes={settings.ingest.max_file_bytes}"
    return {root.name: ScanCache.load(cache_path(settings.home, root.name), shape)
            for root in sources.roots if root.kind != "corpus"}


def _fingerprint(ref: SourceRef, fingerprint: Fingerprinter, limits: IngestConfig, cache: ScanCache | None,
                 stored: str | None) -> str:
    """The document's fingerprint: remembered, when its file is as it was when last hashed and the store still
    holds what it hashed to (see :mod:`ragtune.ingest.scancache`), else read and hashed. The state is taken
    before the read, so a write in between leaves a state that no longer matches."""
    if cache is None or not ref.on_disk:
        return fingerprint(ref, ref.raw(limits))
    checked_ns = time.time_ns()
    state = file_state(ref.source_path)
    known = cache.fingerprint(ref.doc_id, ref.source_path, state) if state is not None else None
    if known is not None and known == stored:
        return known
    value = fingerprint(ref, ref.raw(limits))
    if state is not None:
        cache.remember(ref.doc_id, ref.source_path, state, value, checked_ns)
    return value


def _check_roots(known: dict[str, SourceRecord], roots: Sequence[SourceRoot]) -> None:
    """A source name stays with its root: the same name for another path would mix two sources' documents."""
    for root in roots:
        other = known.get(root.name)
        if other is not None and Path(other.root) != root.root:
            raise InputError(f"source {root.name!r} is {other.root}; {root.root} is another {root.kind}: pass "
                             f"--source NAME to ingest it as its own source")


def _save_roots(store: Store, known: dict[str, SourceRecord], roots: Sequence[SourceRoot], now: str) -> None:
    for root in roots:
        created = known[root.name].created if root.name in known else now
        store.save_source(SourceRecord(root.name, str(root.root), root.kind, created, now))


def _embed_with_progress(
    embedder: Embedder, texts: list[str], batch_size: int, already: int, notify: ProgressCallback
) -> np.ndarray:
    """Embed in slices of a few batches so the progress bar moves during long embeddings."""
    step = batch_size * 4
    parts = []
    for start in range(0, len(texts), step):
        parts.append(embedder.embed(texts[start : start + step], batch_size=batch_size))
        done = already + min(start + step, len(texts))
        notify(Progress("embed", done, already + len(texts)))
    return np.concatenate(parts) if parts else np.zeros((0, embedder.dim), dtype=np.float32)


def _flush(
    store: Store,
    embedder: Embedder,
    settings: Settings,
    pending: _Pending,
    existing: dict[str, str],
    groups: Sequence[str],
    report: IngestReport,
    notify: ProgressCallback,
) -> None:
    if not pending.documents:
        return
    reusable = store.reusable_vectors([d.doc_id for d in pending.documents if d.doc_id in existing])
    shas = [sha256_text(c.text) for c in pending.chunks]
    missing = [i for i, sha in enumerate(shas) if sha not in reusable]
    fresh = _embed_with_progress(embedder, [pending.chunks[i].text for i in missing], settings.embed_batch_size,
                                 report.embedded, notify)
    vectors = np.zeros((len(pending.chunks), embedder.dim), dtype=np.float32)
    for row, i in enumerate(missing):
        vectors[i] = fresh[row]
    for i, sha in enumerate(shas):
        if sha in reusable:
            vectors[i] = reusable[sha]
    terms = [analyze(c.text) for c in pending.chunks]
    group_map = {d.doc_id: tuple(sorted(groups)) for d in pending.documents}
    store.replace_documents(pending.documents, ChunkBatch(pending.chunks, vectors, terms, group_map))
    report.chunks += len(pending.chunks)
    report.embedded += len(missing)
    report.reused_vectors += len(pending.chunks) - len(missing)
