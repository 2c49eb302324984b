"""The Store protocol: what ingestion and retrieval need from a backend (LanceDB, PostgreSQL).

A backend keeps two tables: documents (one row per document version that is live, with its fingerprint and full
normalized text, so citations can be resolved) and chunks (text, span, terms for BM25, vector). Writes replace
whole documents; ``replace_documents`` must leave no duplicates even when it is re-run after a crash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Mapping, Protocol, Sequence

import numpy as np
import pyarrow as pa

from ragtune.types import Chunk, Filters


@dataclass(frozen=True)
class DocumentRecord:
    """A stored document. ``fingerprint`` decides "unchanged" (raw content + everything that shapes its chunks)."""

    doc_id: str
    version: str
    fingerprint: str
    source_path: str
    title: str
    text: str
    metadata: Mapping[str, str]
    groups: tuple[str, ...]
    n_chunks: int
    indexed_at: str
    source: str = ""  # the named source (folder, file or corpus) the document came from


@dataclass(frozen=True)
class DocumentSummary:
    """A stored document without its text: what a listing shows."""

    doc_id: str
    version: str
    source: str
    source_path: str
    title: str
    groups: tuple[str, ...]
    n_chunks: int
    indexed_at: str


@dataclass(frozen=True)
class WriteState:
    """What an ingest or sync plans against, read at its start in one pass over each table: each live
    document's source and fingerprint; the documents whose row's chunk count differs from the chunks stored
    for them (a write cut short: re-indexed); and chunks whose document row is missing, by document id with
    their count (an interrupted run left them: a sync deletes them)."""

    sources: dict[str, str]
    fingerprints: dict[str, str]
    inconsistent: set[str]
    orphans: dict[str, int]


@dataclass(frozen=True)
class SourceRecord:
    """An ingested root: a folder, a single file or a corpus file, under a name unique in the index."""

    name: str
    root: str  # absolute path
    kind: str  # "folder" | "file" | "corpus"
    created: str
    synced: str  # when it was last ingested or synced


@dataclass(frozen=True)
class ChunkBatch:
    """Chunks ready to store: ``vectors[i]`` and ``terms[i]`` belong to ``chunks[i]``."""

    chunks: Sequence[Chunk]
    vectors: np.ndarray
    terms: Sequence[Sequence[str]]
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # doc_id -> ACL groups


@dataclass(frozen=True)
class CollectStats:
    """What a garbage collection of old store versions did."""

    versions_removed: int
    versions_kept: list[int]  # old versions kept because audit records inside the window pin them
    bytes_removed: int

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class ScoredId:
    chunk_id: str
    score: float


class Store(Protocol):
    backend: str

    def fingerprints(self, source: str | None = None, doc_ids: Sequence[str] | None = None) -> dict[str, str]:
        """doc_id → fingerprint of every live document (of one source, or of these ids, when given)."""
        ...

    def document_sources(self, doc_ids: Sequence[str] | None = None) -> dict[str, str]:
        """doc_id → source name of every live document (of these ids, when given)."""
        ...

    def sources(self) -> list[SourceRecord]: ...

    def source_groups(self) -> set[tuple[str, tuple[str, ...]]]:
        """The distinct (source name, access groups) pairs of the live documents: which groups each source's
        documents hold, without reading every document (a sync asks before each run)."""
        ...

    def source_counts(self) -> dict[str, tuple[int, int]]:
        """source name → (documents, chunks)."""
        ...

    def save_source(self, source: SourceRecord) -> None:
        """Insert or update a source row (by name)."""
        ...

    def remove_source(self, name: str) -> int:
        """Delete a source with all its documents and chunks; returns how many documents went."""
        ...

    def document_versions(self) -> dict[str, str]:
        """doc_id → content version (sha256 of the normalized text) of every live document."""
        ...

    def replace_documents(self, documents: Sequence[DocumentRecord], batch: ChunkBatch) -> None:
        """Make exactly these chunks the live chunks of these documents (idempotent). Readers must never see a
        document with no chunks or with chunks of two versions while this runs."""
        ...

    def remove_documents(self, doc_ids: Sequence[str]) -> None: ...

    def write_state(self, doc_ids: Sequence[str] | None = None) -> WriteState:
        """What a write plans against (see :class:`WriteState`), of these ids when given, else of the whole
        store."""
        ...

    def reusable_vectors(self, doc_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """text sha256 → vector for the current chunks of these documents (so unchanged text is not re-embedded)."""
        ...

    def version(self) -> int:
        """The chunk table's version; every write makes a new one and old ones stay readable."""
        ...

    def counts(self) -> tuple[int, int]:
        """(documents, chunks)."""
        ...

    def get_document(self, doc_id: str) -> DocumentRecord | None: ...

    def list_documents(self) -> list[DocumentSummary]:
        """Every live document without its text, sorted by id."""
        ...

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        """The live chunks of one document, in order."""
        ...

    def chunk_columns(self, chunk_ids: Sequence[str] | None = None) -> pa.Table:
        """All chunks (or only those of ``chunk_ids``, in no particular order) with the columns exact in-memory
        search needs (see ``CHUNK_COLUMNS``), in the order of :meth:`chunk_ids`."""
        ...

    def chunk_ids(self) -> list[str]:
        """Every chunk's id, in the order :meth:`chunk_columns` returns the chunks: lets a reader that holds an
        earlier version load only what changed."""
        ...

    def uses_native_indexes(self) -> bool:
        """Whether ANN / full-text indexes exist (the table grew past the exact-search limit)."""
        ...

    def ensure_indexes(self, exact_max_chunks: int) -> None:
        """Build the ANN and full-text indexes once the table holds more than ``exact_max_chunks`` chunks, and
        fold new rows into existing indexes."""
        ...

    def search_lexical(self, query: str, k: int, filters: Filters) -> list[ScoredId]: ...

    def search_dense(self, vector: np.ndarray, k: int, filters: Filters) -> list[ScoredId]: ...

    def chunks_by_id(self, chunk_ids: Sequence[str]) -> pa.Table: ...

    def collect(self, older_than: timedelta, keep: set[int]) -> CollectStats:
        """Compact the tables and delete versions older than ``older_than``, except the chunk-table versions in
        ``keep`` (the ones audit records inside the retention window pin for replay). Their text is then gone."""
        ...

    def describe(self) -> dict[str, str]:
        """``location`` (where the index is) and ``server`` (what serves it, with versions) for ``ragtune status``."""
        ...

    def drop(self) -> None:
        """Delete this whole index (a throwaway one, e.g. an evaluation's) and close the store."""
        ...

    def close(self) -> None: ...


# Columns of a chunk row that search results carry (vectors and terms stay in the store).
RESULT_COLUMNS = (
    "chunk_id", "doc_id", "doc_version", "ordinal", "text", "start", "end", "heading_path", "source_path",
    "metadata",
)
CHUNK_COLUMNS = RESULT_COLUMNS + ("meta_kv", "groups", "terms", "vector")


def chunk_from_row(row: Mapping) -> Chunk:
    import json

    return Chunk(
        chunk_id=row["chunk_id"],
        doc_id=row["doc_id"],
        doc_version=row["doc_version"],
        ordinal=int(row["ordinal"]),
        text=row["text"],
        start=int(row["start"]),
        end=int(row["end"]),
        heading_path=tuple(row["heading_path"] or ()),
        source_path=row["source_path"],
        metadata=json.loads(row["metadata"]) if row["metadata"] else {},
    )
