"""LanceDB store: two tables under ``RAGTUNE_HOME/lance`` and a small ``ragtune.json`` naming the embedder.

Why the write order is safe for readers and to re-run: for a batch of documents we (1) swap their chunks in one
commit (a merge that inserts the new chunks and deletes every other chunk of those doc ids), then (2) upsert the
document rows. A concurrent reader sees each document's old chunks or its new ones, never none and never both.
The document row is the commit marker — until it holds the new fingerprint, the next ingest treats the document
as changed and redoes it; a new document whose row never landed leaves orphan chunks, which search hides (only
chunks of live documents are searched) and the next sync deletes. Each step touches only the rows of the batch
(Lance writes deletion files and new fragments; it does not rewrite the table), so the cost of an update scales
with the changed documents. Old table versions stay readable (time
travel), which the audit log relies on.
"""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ragtune.errors import EmbedderMismatchError, IndexSchemaError, StoreError, VersionCollectedError
from ragtune.files import timestamp_settled
from ragtune.store.base import (
    CHUNK_COLUMNS,
    RESULT_COLUMNS,
    ChunkBatch,
    CollectStats,
    DocumentRecord,
    DocumentSummary,
    ScoredId,
    SourceRecord,
    WriteState,
    chunk_from_row,
)
from ragtune.store.lance_schema import (
    DOCUMENT_SCHEMA,
    SCHEMA_VERSION,
    SOURCE_SCHEMA,
    chunk_schema,
    schema_mismatch,
)
from ragtune.text import STOP_WORDS, sha256_text
from ragtune.types import Chunk, Filters, metadata_pairs

CHUNKS = "chunks"
DOCUMENTS = "documents"
SOURCES = "sources"
# Small batches each add a fragment; compacting past this many keeps scans fast without rewriting big files.
_MAX_FRAGMENTS = 64
# Old table versions are what the audit log pins: routine maintenance never deletes them, only `ragtune gc` does.
_KEEP_VERSIONS = timedelta(days=365 * 100)
_PIN_TAG = "ragtune-pin-"
_TAKE_MAX = 1024  # more chunks than this are read by a filtered scan (see LanceStore._take_listed)
# Below this many rows a filtered scan costs about what a B-tree lookup does (~1 ms): _ensure_lookup_index.
_LOOKUP_INDEX_ROWS = 1000
_SESSION_CACHE_BYTES = 64 << 20  # each of the two caches of a store's lance.Session (see LanceStore._dataset)


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _in_list(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(_sql_str(v) for v in values)})"


def _ids_clause(doc_ids: Sequence[str] | None) -> list[str]:
    """The ``doc_id IN (...)`` clause restricting a scan to ``doc_ids`` (none for None: every document)."""
    if doc_ids is None:
        return []
    return [_in_list("doc_id", doc_ids)] if doc_ids else ["FALSE"]


def filters_sql(filters: Filters) -> str | None:
    clauses = []
    if filters.path_prefix:
        clauses.append(f"starts_with(source_path, {_sql_str(filters.path_prefix)})")
    for pair in metadata_pairs(filters.metadata):
        clauses.append(f"array_has(meta_kv, {_sql_str(pair)})")
    if filters.groups is not None:  # ragtune.types.visible_to, as SQL: no groups, or one the caller holds
        visible = "groups IS NULL OR array_length(groups) = 0"
        if filters.groups:
            held = ", ".join(_sql_str(g) for g in sorted(filters.groups))
            visible += f" OR array_has_any(groups, [{held}])"
        clauses.append(f"({visible})")
    return " AND ".join(clauses) or None


class LanceStore:
    """The embedded default backend."""

    backend = "lancedb"

    def __init__(
        self, root: Path, embedder_id: str, dim: int, consistency_seconds: float = 0.0, version: int | None = None
    ) -> None:
        """``version`` opens the chunk table read-only as it was at that version (time travel, for replay)."""
        import lance
        import lancedb

        self.root = root
        self.dim = dim
        self.embedder_id = embedder_id
        self._pinned = version
        self._versions_dir = root / f"{CHUNKS}.lance" / "_versions"
        self._latest: tuple[int, int] | None = None  # (mtime_ns of _versions/, the version read then)
        self._listed: tuple[int, list[str], dict[str, int] | None] | None = None  # see _take_listed
        root.mkdir(parents=True, exist_ok=True)
        self._check_manifest(root / "ragtune.json")
        self._db = lancedb.connect(str(root), read_consistency_interval=timedelta(seconds=consistency_seconds))
        # see _dataset; its caches bounded for a long-running server (10,000 documents' reads fill ~1.3 MB)
        self._session = lance.Session(index_cache_size_bytes=_SESSION_CACHE_BYTES,
                                      metadata_cache_size_bytes=_SESSION_CACHE_BYTES)
        names = set(self._db.list_tables().tables)
        self._chunks = (
            self._db.open_table(CHUNKS) if CHUNKS in names
            else self._db.create_table(CHUNKS, schema=chunk_schema(dim))
        )
        self._documents = (
            self._db.open_table(DOCUMENTS) if DOCUMENTS in names
            else self._db.create_table(DOCUMENTS, schema=DOCUMENT_SCHEMA)
        )
        self._sources = (
            self._db.open_table(SOURCES) if SOURCES in names else self._db.create_table(SOURCES, schema=SOURCE_SCHEMA)
        )
        if version is not None:
            versions = {int(v["version"]) for v in self._chunks.list_versions()}
            if version not in versions:
                raise VersionCollectedError(
                    f"store version {version} is no longer in {root}: `ragtune gc` collected it (it was older than "
                    "the retention window and no audit record inside the window pinned it), so what it held cannot "
                    "be searched again")
            self._chunks.checkout(version)

    def _check_manifest(self, path: Path) -> None:
        wanted = {"schema": SCHEMA_VERSION, "embedder": self.embedder_id, "dim": self.dim}
        if not path.exists():
            path.write_text(json.dumps(wanted, indent=2))
            return
        try:
            found = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise StoreError(f"{path}: unreadable index manifest ({exc}); delete the folder to rebuild") from exc
        if found.get("schema") != SCHEMA_VERSION:
            raise IndexSchemaError(schema_mismatch(self.root, found.get("schema")))
        if found.get("embedder") != self.embedder_id or found.get("dim") != self.dim:
            raise EmbedderMismatchError(
                f"the index in {self.root} was built with embedder {found.get('embedder')!r} "
                f"({found.get('dim')}-d), not {self.embedder_id!r}: use that embedder or a new --home"
            )

    # ---- reads -------------------------------------------------------------------------------------------
    def _dataset(self, table):
        """The Lance dataset of ``table`` at its latest version, opened in this store's session: the session
        caches file metadata and opened indexes, which every new dataset object would read again — half the
        cost of a small read (a doc_id lookup over 10,000 documents 13 → 5 ms, listing 10,000 chunk ids 29 →
        17 ms, measured under load). Lance files never change once written, so the cache cannot go stale."""
        return table.to_lance(session=self._session)

    def _scan(self, table, columns: list[str], where: str | None = None) -> pa.Table:
        return self._dataset(table).to_table(columns=columns, filter=where)

    def fingerprints(self, source: str | None = None, doc_ids: Sequence[str] | None = None) -> dict[str, str]:
        clauses = ([] if source is None else [f"source = {_sql_str(source)}"]) + _ids_clause(doc_ids)
        rows = self._scan(self._documents, ["doc_id", "fingerprint"], " AND ".join(clauses) or None)
        return dict(zip(rows["doc_id"].to_pylist(), rows["fingerprint"].to_pylist()))

    def document_sources(self, doc_ids: Sequence[str] | None = None) -> dict[str, str]:
        rows = self._scan(self._documents, ["doc_id", "source"], " AND ".join(_ids_clause(doc_ids)) or None)
        return dict(zip(rows["doc_id"].to_pylist(), rows["source"].to_pylist()))

    def source_groups(self) -> set[tuple[str, tuple[str, ...]]]:
        # distinct in Arrow, one joined key per document (source names and group names hold neither
        # separator): a sync asks this of every document row, and only a handful of pairs come out
        rows = self._scan(self._documents, ["source", "groups"])
        groups = pc.binary_join(rows["groups"], "\x1f").fill_null("")
        pairs = (key.split("\x00", 1) for key in pc.unique(pc.binary_join_element_wise(rows["source"], groups,
                                                                                        "\x00")).to_pylist())
        return {(source, tuple(g for g in joined.split("\x1f") if g)) for source, joined in pairs}

    def sources(self) -> list[SourceRecord]:
        return sorted((SourceRecord(**row) for row in self._scan(self._sources, SOURCE_SCHEMA.names).to_pylist()),
                      key=lambda r: r.name)

    def document_versions(self) -> dict[str, str]:
        if self._pinned is not None:
            # only the chunk table travels in time: the documents of that version are the ones its chunks name
            # (the documents table now would drop a document deleted since from a replayed search)
            rows = self._scan(self._chunks, ["doc_id", "doc_version"])
            return dict(zip(rows["doc_id"].to_pylist(), rows["doc_version"].to_pylist()))
        rows = self._scan(self._documents, ["doc_id", "version"])
        return dict(zip(rows["doc_id"].to_pylist(), rows["version"].to_pylist()))

    def version(self) -> int:
        """The chunk table's latest version. Asking LanceDB lists the table's manifests (~0.3 ms, a tenth of
        an exact search), so the answer is kept while the ``_versions/`` folder is unchanged: every commit
        adds a manifest there, which moves the folder's modification time when the version becomes
        visible. The pair is kept only when that time had settled (:func:`ragtune.files.timestamp_settled`)
        before the version was read, so a commit in the same clock tick as the last one (same folder time,
        newer version) cannot have been missed."""
        checked = time.time_ns()
        try:
            changed = os.stat(self._versions_dir).st_mtime_ns
        except OSError:
            changed = None
        if changed is not None and self._latest is not None and self._latest[0] == changed:
            return self._latest[1]
        version = int(self._chunks.version)
        keep = changed is not None and timestamp_settled(changed, checked)
        self._latest = (changed, version) if keep else None
        return version

    def counts(self) -> tuple[int, int]:
        return int(self._documents.count_rows()), int(self._chunks.count_rows())

    def get_document(self, doc_id: str) -> DocumentRecord | None:
        rows = self._scan(self._documents, DOCUMENT_SCHEMA.names, f"doc_id = {_sql_str(doc_id)}").to_pylist()
        if not rows:
            return None
        row = rows[0]
        return DocumentRecord(
            doc_id=row["doc_id"], version=row["version"], fingerprint=row["fingerprint"],
            source_path=row["source_path"], title=row["title"], text=row["text"],
            metadata=json.loads(row["metadata"] or "{}"), groups=tuple(row["groups"] or ()),
            n_chunks=row["n_chunks"], indexed_at=row["indexed_at"], source=row["source"],
        )

    def list_documents(self) -> list[DocumentSummary]:
        columns = ["doc_id", "version", "source", "source_path", "title", "groups", "n_chunks", "indexed_at"]
        table = self._scan(self._documents, columns).sort_by("doc_id")
        # column by column: a dict per row cost more than the scan (10,000 documents, every sync reads them)
        values = [table[c].to_pylist() for c in columns]
        return [DocumentSummary(d, v, s, p, t, tuple(g or ()), int(n), i)
                for d, v, s, p, t, g, n, i in zip(*values)]

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        rows = self._scan(self._chunks, list(RESULT_COLUMNS), f"doc_id = {_sql_str(doc_id)}").to_pylist()
        return sorted((chunk_from_row(r) for r in rows), key=lambda c: c.ordinal)

    def reusable_vectors(self, doc_ids: Sequence[str]) -> dict[str, np.ndarray]:
        if not doc_ids:
            return {}
        rows = self._scan(self._chunks, ["text_sha", "vector"], _in_list("doc_id", doc_ids))
        if rows.num_rows == 0:
            return {}
        vectors = rows["vector"].combine_chunks().flatten().to_numpy().reshape(-1, self.dim)
        return dict(zip(rows["text_sha"].to_pylist(), vectors))

    def chunk_columns(self, chunk_ids: Sequence[str] | None = None) -> pa.Table:
        if chunk_ids is None:
            return self._scan(self._chunks, list(CHUNK_COLUMNS))
        taken = self._take_listed(chunk_ids)
        if taken is not None:
            return taken
        return self._scan(self._chunks, list(CHUNK_COLUMNS), _in_list("chunk_id", chunk_ids) if chunk_ids else "FALSE")

    def chunk_ids(self) -> list[str]:
        dataset = self._dataset(self._chunks)
        ids = dataset.to_table(columns=["chunk_id"])["chunk_id"].to_pylist()
        self._listed = (dataset.version, ids, None)
        return ids

    def _take_listed(self, chunk_ids: Sequence[str]) -> pa.Table | None:
        """A few chunks of the ids :meth:`chunk_ids` just listed (a searcher folding a write into its state
        asks for the new ones), taken by their row offsets in that same table version: ~2 ms where the
        ``chunk_id IN (...)`` filter scans every row (~14 ms over 10,000). None — scan instead — when the
        version moved since, an id was not listed, or the rows taken are not those ids."""
        listed = self._listed
        if listed is None or not chunk_ids or len(chunk_ids) > _TAKE_MAX:
            return None
        version, ids, position = listed
        dataset = self._dataset(self._chunks)
        if dataset.version != version:
            return None
        if position is None:
            position = {cid: i for i, cid in enumerate(ids)}
            self._listed = (version, ids, position)
        if any(cid not in position for cid in chunk_ids):
            return None
        table = dataset.take([position[cid] for cid in chunk_ids], columns=list(CHUNK_COLUMNS))
        return table if table["chunk_id"].to_pylist() == list(chunk_ids) else None

    def chunks_by_id(self, chunk_ids: Sequence[str]) -> pa.Table:
        if not chunk_ids:
            return pa.table({c: [] for c in RESULT_COLUMNS})
        return self._scan(self._chunks, list(RESULT_COLUMNS), _in_list("chunk_id", chunk_ids))

    # ---- writes ------------------------------------------------------------------------------------------
    def replace_documents(self, documents: Sequence[DocumentRecord], batch: ChunkBatch) -> None:
        if not documents:
            return
        ids = [d.doc_id for d in documents]
        if batch.chunks:
            # One commit swaps the documents' chunks: new rows in, every other row of these documents out. A
            # reader sees the version before or after it, never a document with no chunks or two versions mixed.
            (self._chunks.merge_insert("chunk_id").when_matched_update_all().when_not_matched_insert_all()
             .when_not_matched_by_source_delete(_in_list("doc_id", ids)).execute(self._chunk_table(batch)))
        else:
            self._chunks.delete(_in_list("doc_id", ids))
        self._documents.merge_insert("doc_id").when_matched_update_all().when_not_matched_insert_all().execute(
            self._document_table(documents)
        )

    def remove_documents(self, doc_ids: Sequence[str]) -> None:
        if not doc_ids:
            return
        for start in range(0, len(doc_ids), 500):
            part = list(doc_ids[start : start + 500])
            self._chunks.delete(_in_list("doc_id", part))
            self._documents.delete(_in_list("doc_id", part))

    def write_state(self, doc_ids: Sequence[str] | None = None) -> WriteState:
        where = " AND ".join(_ids_clause(doc_ids)) or None
        docs = self._scan(self._documents, ["doc_id", "source", "fingerprint", "n_chunks"], where)
        counted = pc.value_counts(self._scan(self._chunks, ["doc_id"], where)["doc_id"])
        found = dict(zip(counted.field("values").to_pylist(), counted.field("counts").to_pylist()))
        ids = docs["doc_id"].to_pylist()
        expected = dict(zip(ids, docs["n_chunks"].to_pylist()))
        return WriteState(sources=dict(zip(ids, docs["source"].to_pylist())),
                          fingerprints=dict(zip(ids, docs["fingerprint"].to_pylist())),
                          inconsistent={d for d, n in expected.items() if found.get(d, 0) != n},
                          orphans={d: n for d, n in found.items() if d not in expected})

    def source_counts(self) -> dict[str, tuple[int, int]]:
        rows = self._scan(self._documents, ["source", "n_chunks"])
        counts: dict[str, tuple[int, int]] = {}
        for name, n in zip(rows["source"].to_pylist(), rows["n_chunks"].to_pylist()):
            documents, chunks = counts.get(name, (0, 0))
            counts[name] = (documents + 1, chunks + int(n))
        return counts

    def save_source(self, source: SourceRecord) -> None:
        self._sources.merge_insert("name").when_matched_update_all().when_not_matched_insert_all().execute(
            pa.Table.from_pylist([source.__dict__], schema=SOURCE_SCHEMA))

    def remove_source(self, name: str) -> int:
        doc_ids = list(self.fingerprints(name))
        self.remove_documents(doc_ids)
        self._sources.delete(f"name = {_sql_str(name)}")
        return len(doc_ids)

    def _chunk_table(self, batch: ChunkBatch) -> pa.Table:
        chunks = batch.chunks
        vectors = np.ascontiguousarray(batch.vectors, dtype=np.float32)
        if vectors.shape != (len(chunks), self.dim):
            raise StoreError(f"expected {len(chunks)} vectors of {self.dim} dims, got {vectors.shape}")
        columns = {
            "chunk_id": [c.chunk_id for c in chunks],
            "doc_id": [c.doc_id for c in chunks],
            "doc_version": [c.doc_version for c in chunks],
            "ordinal": [c.ordinal for c in chunks],
            "text": [c.text for c in chunks],
            "start": [c.start for c in chunks],
            "end": [c.end for c in chunks],
            "heading_path": [list(c.heading_path) for c in chunks],
            "source_path": [c.source_path for c in chunks],
            "metadata": [json.dumps(dict(c.metadata), sort_keys=True) for c in chunks],
            "meta_kv": [metadata_pairs(c.metadata) for c in chunks],
            "groups": [list(batch.groups.get(c.doc_id, ())) for c in chunks],
            "terms": [list(t) for t in batch.terms],
            "text_sha": [sha256_text(c.text) for c in chunks],
        }
        schema = chunk_schema(self.dim)
        arrays = [pa.array(columns[name], type=schema.field(name).type) for name in schema.names[:-1]]
        arrays.append(pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), self.dim))
        return pa.Table.from_arrays(arrays, schema=schema)

    def _document_table(self, documents: Sequence[DocumentRecord]) -> pa.Table:
        rows = [
            {
                "doc_id": d.doc_id, "version": d.version, "fingerprint": d.fingerprint,
                "source_path": d.source_path, "title": d.title, "text": d.text,
                "metadata": json.dumps(dict(d.metadata), sort_keys=True), "groups": list(d.groups),
                "n_chunks": d.n_chunks, "indexed_at": d.indexed_at, "source": d.source,
            }
            for d in documents
        ]
        return pa.Table.from_pylist(rows, schema=DOCUMENT_SCHEMA)

    # ---- indexes -----------------------------------------------------------------------------------------
    def _index_types(self) -> set[str]:
        return {str(ix.index_type).upper() for ix in self._chunks.list_indices()}

    def uses_native_indexes(self) -> bool:
        types = self._index_types()
        return "FTS" in types and any(t.startswith("IVF") for t in types)

    def ensure_indexes(self, exact_max_chunks: int) -> None:
        for table in (self._documents, self._chunks):
            self._ensure_lookup_index(table, "doc_id")
        # every write adds a fragment to the documents table too (an upload: one), and a lookup opens them all
        self._compact_if_fragmented(self._documents)
        n_chunks = self._chunks.count_rows()
        types = self._index_types()
        if types and ("FTS" in types and any(t.startswith("IVF") for t in types)):
            # Compacts small fragments and folds new rows into both indexes; keeps every old version readable.
            self._chunks.optimize(cleanup_older_than=_KEEP_VERSIONS)
            return
        self._compact_if_fragmented(self._chunks)
        if n_chunks <= exact_max_chunks:
            return
        if "FTS" not in types:
            from lancedb.index import FTS

            self._chunks.create_index(
                "text",
                config=FTS(with_position=False, base_tokenizer="simple", language="English", lower_case=True,
                           stem=True, remove_stop_words=True, ascii_folding=True,
                           custom_stop_words=sorted(STOP_WORDS)),
            )
        if not any(t.startswith("IVF") for t in types):
            from lancedb.index import IvfHnswSq

            partitions = max(1, int(n_chunks ** 0.5 / 4))
            self._chunks.create_index("vector", config=IvfHnswSq(distance_type="cosine", num_partitions=partitions))

    def _compact_if_fragmented(self, table) -> None:
        dataset = self._dataset(table)
        if len(dataset.get_fragments()) > _MAX_FRAGMENTS:
            dataset.optimize.compact_files()

    def _ensure_lookup_index(self, table, column: str) -> None:
        """A B-tree on ``column``, so the per-document reads and deletes of a small write (an upload: its
        document row, its fingerprint, its old chunks) find their rows without scanning every row: each
        ``doc_id = ...`` filter over 10,000 documents took 7-15 ms as a scan, ~1-2 ms through the index.
        Built once the table has ``_LOOKUP_INDEX_ROWS`` rows; rows written since are scanned beside it (Lance
        does that, so answers never depend on the index) and folded in once they are that many again."""
        name = f"{column}_idx"
        stats = table.index_stats(name)
        if stats is None:
            if table.count_rows() >= _LOOKUP_INDEX_ROWS:
                from lancedb.index import BTree

                table.create_index(column, config=BTree(), name=name)
        elif stats.num_unindexed_rows >= _LOOKUP_INDEX_ROWS:
            self._dataset(table).optimize.optimize_indices(index_names=[name])

    def search_lexical(self, query: str, k: int, filters: Filters) -> list[ScoredId]:
        search = self._chunks.search(query, query_type="fts").select(["chunk_id", "_score"]).limit(k)
        where = filters_sql(filters)
        if where:
            search = search.where(where, prefilter=True)
        rows = search.to_arrow()
        return [ScoredId(c, float(s)) for c, s in zip(rows["chunk_id"].to_pylist(), rows["_score"].to_pylist())]

    def search_dense(self, vector: np.ndarray, k: int, filters: Filters) -> list[ScoredId]:
        search = (
            self._chunks.search(vector.astype(np.float32), query_type="vector")
            .distance_type("cosine").select(["chunk_id", "_distance"]).limit(k)
        )
        where = filters_sql(filters)
        if where:
            search = search.where(where, prefilter=True)
        rows = search.to_arrow()
        return [
            ScoredId(c, 1.0 - float(d)) for c, d in zip(rows["chunk_id"].to_pylist(), rows["_distance"].to_pylist())
        ]

    def collect(self, older_than: timedelta, keep: set[int]) -> CollectStats:
        existing = {int(v["version"]) for v in self._chunks.list_versions()}
        pinned = sorted(v for v in keep if v in existing and v != self.version())
        tags = self._chunks.tags
        for name, info in tags.list().items():
            if name.startswith(_PIN_TAG) and int(info["version"]) not in pinned:
                tags.delete(name)
        present = {info["version"] for info in tags.list().values()}
        for version in pinned:
            if version not in present:
                tags.create(f"{_PIN_TAG}{version}", version)  # Lance's cleanup keeps tagged versions
        removed = bytes_removed = 0
        for table in (self._chunks, self._documents, self._sources):
            dataset = self._dataset(table)
            dataset.optimize.compact_files()
            stats = self._dataset(table).cleanup_old_versions(older_than=older_than,
                                                              error_if_tagged_old_versions=False)
            removed += int(stats.old_versions)
            bytes_removed += int(stats.bytes_removed)
        return CollectStats(removed, pinned, bytes_removed)

    def describe(self) -> dict[str, str]:
        from importlib.metadata import version

        return {"location": str(self.root), "server": f"LanceDB {version('lancedb')} (embedded)"}

    def drop(self) -> None:
        import shutil

        self.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def close(self) -> None:
        self._db = None
