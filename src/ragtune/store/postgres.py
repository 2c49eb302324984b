"""PostgreSQL + pgvector store: the backend for several machines or API workers sharing one index.

Tables (see ``postgres_schema``) live in one schema per index: ``documents`` and ``chunks`` (a ``vector(dim)``
column, an HNSW cosine index once the corpus outgrows exact in-memory search), ``postings`` for BM25, ``versions``
and ``sources``.

Versions: every write is one transaction that takes the index's advisory lock, numbers itself ``max(version) +
1``, closes the rows it replaces (``valid_to``) and inserts the new ones (``valid_from``), then records the version
with the live chunk count and term total. Readers never lock: one SQL statement sees one snapshot, so a search
sees each document at its old or its new version, never half of one; a store opened at ``version=N`` reads the
rows visible then (audit replay) until ``collect`` deletes what no kept version can see. Writers queue on the lock
(a second writer waits; it neither fails nor overwrites half of the first one's work), and the partial unique
indexes (one live row per document id and per chunk id) refuse duplicates should anything bypass it.

Lexical search is ragtune's BM25 (``retrieve.lexical``: k1, b and Lucene's IDF) computed in SQL from the postings
of the query's terms: N and the average length come from the version row, each chunk's length and document
frequencies from the postings of chunks visible at that version (joined to the narrow ``lengths`` table, not to
the wide chunk rows), exactly as the in-memory index counts them, so both rank alike. Filters apply to the scored
chunks before the cut at k; they never change a score.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Iterator, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ragtune.config import redact_url
from ragtune.errors import EmbedderMismatchError, StoreError, StoreUnavailableError, VersionCollectedError
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
from ragtune.store.lance_schema import chunk_schema
from ragtune.store.postgres_schema import SCHEMA_NAME, SCHEMA_VERSION, migrate
from ragtune.text import BM25_B, BM25_K1, analyze, sha256_text
from ragtune.types import Chunk, Filters, metadata_pairs

DEFAULT_SCHEMA = "ragtune"
POOL_SIZE = 8  # connections per process: searches in parallel threads each hold one for a statement
# How long a call waits for a connection while the server is unreachable (a restart, a failover) before it fails
# with StoreUnavailableError — a 503 from `ragtune serve` — instead of holding the request open.
CONNECT_WAIT_SECONDS = 5.0
HNSW = "chunks_hnsw"
_DOC_COLUMNS = ("doc_id", "version", "fingerprint", "source_path", "title", "text", "metadata", "groups", "n_chunks",
                "indexed_at", "source")
# chunk columns as the Store protocol names them -> as stored ("start"/"end" are SQL keywords)
_SQL_NAME = {"start": "start_char", "end": "end_char", "vector": "embedding"}


def schema_for(namespace: str) -> str:
    """The SQL schema of an index: ``ragtune`` for the main one, ``ragtune_<namespace>`` for others (the indexes
    evaluations build of their corpus files)."""
    name = DEFAULT_SCHEMA + (f"_{namespace}" if namespace else "")
    if not SCHEMA_NAME.fullmatch(name):
        raise StoreError(f"index namespace {namespace!r}: use lower-case letters, digits and '_' (at most 54)")
    return name


def _quoted(identifier: str) -> str:
    """An SQL identifier as a quoted name (the schema pgvector was installed in may be any name)."""
    return '"' + identifier.replace('"', '""') + '"'


def _vector_text(vector: np.ndarray) -> str:
    # 9 significant digits round-trip every float32 exactly
    return "[" + ",".join(np.char.mod("%.9g", np.asarray(vector, dtype=np.float32))) + "]"


def _vectors_from_send(blobs: Sequence[bytes], dim: int) -> np.ndarray:
    """pgvector's binary form (``vector_send``): int16 dim, int16 unused, then big-endian float4s."""
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    raw = np.frombuffer(b"".join(bytes(b) for b in blobs), dtype=np.uint8).reshape(len(blobs), 4 + 4 * dim)
    return raw[:, 4:].copy().view(">f4").astype(np.float32)


def _ids_where(doc_ids: Sequence[str] | None) -> tuple[str, tuple]:
    """`` AND doc_id = ANY(%s)`` and its parameter, restricting a query to ``doc_ids`` (nothing for None)."""
    return ("", ()) if doc_ids is None else (" AND doc_id = ANY(%s)", (list(doc_ids),))


def filters_sql(filters: Filters, alias: str = "c") -> tuple[str, dict]:
    """The filters as one SQL condition on chunk rows, with its parameters: applied inside the search (a pre-filter),
    so a filtered caller still gets its full top k."""
    clauses: list[str] = []
    params: dict = {}
    if filters.path_prefix:
        clauses.append(f"starts_with({alias}.source_path, %(f_path)s)")
        params["f_path"] = filters.path_prefix
    pairs = metadata_pairs(filters.metadata)
    if pairs:
        clauses.append(f"{alias}.meta_kv @> %(f_meta)s::text[]")
        params["f_meta"] = pairs
    groups = filters.groups  # access groups: None = unrestricted (ragtune.types.visible_to)
    if groups is not None:
        clauses.append(f"(cardinality({alias}.groups) = 0 OR {alias}.groups && %(f_groups)s::text[])")
        params["f_groups"] = sorted(groups)
    return " AND ".join(clauses) or "TRUE", params


def recorded_embedder(url: str, namespace: str = "") -> str | None:
    """The embedder id the index in this database and namespace was built with; None when there is no index."""
    try:
        import psycopg
    except ImportError as exc:
        raise StoreError("the PostgreSQL store needs psycopg: pip install 'ragtune[postgres]'") from exc
    schema = schema_for(namespace)
    try:
        with psycopg.connect(PostgresStore._conninfo(url), autocommit=True, connect_timeout=15) as conn:
            if conn.execute("SELECT to_regclass(%s)", (f"{schema}.meta",)).fetchone()[0] is None:
                return None
            row = conn.execute(f"SELECT value FROM {schema}.meta WHERE key = 'embedder'").fetchone()
    except psycopg.OperationalError as exc:
        raise StoreError(f"cannot connect to {redact_url(url)}: {str(exc).strip()}") from exc
    return row[0] if row else None


@dataclass
class _Write:
    """One write transaction: its cursor, the version it makes, and the live totals after it."""

    cur: object
    version: int
    n_chunks: int
    n_terms: int
    changed: bool = False


class PostgresStore:
    """A ragtune index in a PostgreSQL database (``postgresql://user:password@host:port/database``)."""

    backend = "postgresql"

    def __init__(self, url: str, embedder_id: str, dim: int, *, namespace: str = "", version: int | None = None,
                 pool_size: int = POOL_SIZE) -> None:
        """``version`` opens the index read-only as it was at that version (audit replay)."""
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ImportError as exc:
            raise StoreError("the PostgreSQL store needs psycopg: pip install 'ragtune[postgres]'") from exc
        self.url = url
        self.dim = dim
        self.embedder_id = embedder_id
        self.schema = schema_for(namespace)
        self._pinned = version
        self._lock_key = int.from_bytes(hashlib.sha256(f"ragtune:{self.schema}".encode()).digest()[:8], "big",
                                        signed=True)
        conninfo = self._conninfo(url)
        try:
            with psycopg.connect(conninfo, autocommit=True, connect_timeout=15) as conn:
                self._server = self._setup(conn)
        except psycopg.OperationalError as exc:
            raise StoreError(f"cannot connect to {redact_url(url)}: {str(exc).strip()}") from exc
        search_path = f"{self.schema}, {_quoted(self._server['vector_schema'])}"

        def configure(conn) -> None:
            conn.execute(f"SET search_path TO {search_path}")

        # check: a connection handed out is tested first (one round trip), so after a server restart the pool
        # replaces its dead connections instead of failing the next caller with each of them
        self._pool = ConnectionPool(conninfo, min_size=1, max_size=pool_size, open=False, configure=configure,
                                    kwargs={"autocommit": True, "connect_timeout": int(CONNECT_WAIT_SECONDS)},
                                    check=ConnectionPool.check_connection, timeout=CONNECT_WAIT_SECONDS,
                                    reconnect_timeout=24 * 3600, name=f"ragtune-{self.schema}")
        self._pool.open(wait=True, timeout=30)
        # a store nobody closes (a replay's pinned one) gives its connections back when it is garbage collected
        self._finalizer = weakref.finalize(self, self._pool.close)
        self._hnsw = False  # once seen valid, the index stays (nothing drops it but `drop`)
        if version is not None:
            with self._cursor() as cur:
                known = cur.execute("SELECT max(version), bool_or(version = %s) FROM versions", (version,)).fetchone()
            if not known[1]:
                self.close()
                raise VersionCollectedError(
                    f"store version {version} is not in {redact_url(url)} (schema {self.schema}): "
                    + ("`ragtune gc` collected it (it was older than the retention window and no audit record "
                       "inside the window pinned it), so what it held cannot be searched again"
                       if version < known[0] else f"the newest version is {known[0]}"))

    # ---- connection and schema ---------------------------------------------------------------------------
    @staticmethod
    def _conninfo(url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres"):
            raise StoreError(f"store {redact_url(url)!r}: expected a postgresql:// URL")
        params = dict(parse_qsl(parts.query))
        params.setdefault("application_name", "ragtune")
        return urlunsplit(parts._replace(query=urlencode(params)))

    def _setup(self, conn) -> dict[str, str]:
        """Create the extension, schema and tables when missing (under the index lock), check the embedder."""
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
            ext = conn.execute("SELECT e.extversion, n.nspname FROM pg_extension e JOIN pg_namespace n "
                               "ON n.oid = e.extnamespace WHERE e.extname = 'vector'").fetchone()
            if ext is None:
                try:
                    with conn.transaction():
                        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
                except Exception as exc:  # noqa: BLE001 — psycopg's error types: report what to do
                    raise StoreError(
                        f"{redact_url(self.url)}: the pgvector extension is not installed in this database and this "
                        f"role cannot create it ({str(exc).strip()}); ask an administrator to run `CREATE EXTENSION "
                        "vector;` in it (docs/deploy.md)") from exc
                ext = conn.execute("SELECT e.extversion, n.nspname FROM pg_extension e JOIN pg_namespace n "
                                   "ON n.oid = e.extnamespace WHERE e.extname = 'vector'").fetchone()
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
            conn.execute(f"SET LOCAL search_path TO {self.schema}, {_quoted(ext[1])}")
            cur = conn.cursor()
            migrate(cur, self.dim)
            cur.execute("INSERT INTO meta VALUES ('embedder', %s), ('dim', %s) ON CONFLICT (key) DO NOTHING",
                        (self.embedder_id, str(self.dim)))
            meta = dict(cur.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("embedder") != self.embedder_id or meta.get("dim") != str(self.dim):
            raise EmbedderMismatchError(
                f"the index in {redact_url(self.url)} (schema {self.schema}) was built with embedder "
                f"{meta.get('embedder')!r} ({meta.get('dim')}-d), not {self.embedder_id!r}: use that embedder or "
                "another database")
        server = conn.execute("SHOW server_version").fetchone()[0]
        return {"server_version": server, "vector_version": ext[0], "vector_schema": ext[1]}

    @contextmanager
    def _connection(self) -> Iterator:
        """A pooled connection; losing the server (or not reaching it in time) is a StoreUnavailableError that
        says to retry, whatever statement it happened in. A transaction cut off this way rolled back."""
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            with self._pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout) as exc:
            raise StoreUnavailableError(
                f"PostgreSQL at {redact_url(self.url)} is unavailable ({str(exc).strip().splitlines()[0]}); "
                "retry once it is back (each write commits whole or not at all, so retrying one is safe)") from exc

    @contextmanager
    def _cursor(self, binary: bool = False) -> Iterator:
        with self._connection() as conn:
            yield conn.cursor(binary=binary)

    @contextmanager
    def _write(self) -> Iterator[_Write]:
        """One write transaction under the index lock; it makes a new version when it changed anything."""
        if self._pinned is not None:
            raise StoreError(f"store version {self._pinned} was opened read-only (for replay)")
        with self._connection() as conn, conn.transaction():
            cur = conn.cursor()
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
            version, n_chunks, n_terms = cur.execute(
                "SELECT version, n_chunks, n_terms FROM versions ORDER BY version DESC LIMIT 1").fetchone()
            write = _Write(cur, version + 1, n_chunks, n_terms)
            yield write
            if write.changed:
                cur.execute("INSERT INTO versions (version, n_chunks, n_terms) VALUES (%s, %s, %s)",
                            (write.version, write.n_chunks, write.n_terms))

    def _visible(self, alias: str) -> str:
        """Rows of ``alias`` visible at this store's version (the live ones, unless opened at a version)."""
        if self._pinned is None:
            return f"{alias}.valid_to IS NULL"
        v = int(self._pinned)
        return f"{alias}.valid_from <= {v} AND ({alias}.valid_to IS NULL OR {alias}.valid_to > {v})"

    def _stats_sql(self) -> str:
        where = "ORDER BY version DESC LIMIT 1" if self._pinned is None else f"WHERE version = {int(self._pinned)}"
        return f"SELECT version, n_chunks, n_terms FROM versions {where}"

    # ---- reads -------------------------------------------------------------------------------------------
    def _pairs(self, sql: str, params: Sequence = ()) -> dict:
        with self._cursor() as cur:
            return dict(cur.execute(sql, params).fetchall())

    def fingerprints(self, source: str | None = None, doc_ids: Sequence[str] | None = None) -> dict[str, str]:
        where, params = _ids_where(doc_ids)
        if source is not None:
            where, params = where + " AND source = %s", params + (source,)
        return self._pairs(f"SELECT doc_id, fingerprint FROM documents d WHERE {self._visible('d')}{where}", params)

    def document_sources(self, doc_ids: Sequence[str] | None = None) -> dict[str, str]:
        where, params = _ids_where(doc_ids)
        return self._pairs(f"SELECT doc_id, source FROM documents d WHERE {self._visible('d')}{where}", params)

    def source_groups(self) -> set[tuple[str, tuple[str, ...]]]:
        with self._cursor() as cur:
            rows = cur.execute(f"SELECT DISTINCT source, groups FROM documents d "
                               f"WHERE {self._visible('d')}").fetchall()
        return {(source, tuple(groups or ())) for source, groups in rows}

    def document_versions(self) -> dict[str, str]:
        return self._pairs(f"SELECT doc_id, version FROM documents d WHERE {self._visible('d')}")

    def sources(self) -> list[SourceRecord]:
        with self._cursor() as cur:
            rows = cur.execute("SELECT name, root, kind, created, synced FROM sources ORDER BY name").fetchall()
        return [SourceRecord(*row) for row in rows]

    def source_counts(self) -> dict[str, tuple[int, int]]:
        with self._cursor() as cur:
            rows = cur.execute(f"SELECT source, count(*), coalesce(sum(n_chunks), 0) FROM documents d "
                               f"WHERE {self._visible('d')} GROUP BY source").fetchall()
        return {name: (int(docs), int(chunks)) for name, docs, chunks in rows}

    def version(self) -> int:
        if self._pinned is not None:
            return int(self._pinned)
        with self._cursor() as cur:
            return int(cur.execute("SELECT max(version) FROM versions").fetchone()[0])

    def counts(self) -> tuple[int, int]:
        with self._cursor() as cur:
            row = cur.execute(f"SELECT (SELECT count(*) FROM documents d WHERE {self._visible('d')}), "
                              f"(SELECT n_chunks FROM ({self._stats_sql()}) s)").fetchone()
        return int(row[0]), int(row[1])

    def get_document(self, doc_id: str) -> DocumentRecord | None:
        with self._cursor() as cur:
            row = cur.execute(f"SELECT {', '.join(_DOC_COLUMNS)} FROM documents d "
                              f"WHERE {self._visible('d')} AND doc_id = %s", (doc_id,)).fetchone()
        if row is None:
            return None
        data = dict(zip(_DOC_COLUMNS, row))
        return DocumentRecord(**{**data, "metadata": json.loads(data["metadata"] or "{}"),
                                 "groups": tuple(data["groups"])})

    def list_documents(self) -> list[DocumentSummary]:
        columns = ("doc_id", "version", "source", "source_path", "title", "groups", "n_chunks", "indexed_at")
        with self._cursor() as cur:
            rows = cur.execute(f"SELECT {', '.join(columns)} FROM documents d WHERE {self._visible('d')} "
                               "ORDER BY doc_id").fetchall()
        return [DocumentSummary(**{**dict(zip(columns, row)), "groups": tuple(row[5] or ()), "n_chunks": int(row[6])})
                for row in rows]

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        rows = self._chunk_table(RESULT_COLUMNS, "c.doc_id = %s", (doc_id,)).to_pylist()
        return sorted((chunk_from_row(r) for r in rows), key=lambda c: c.ordinal)

    def reusable_vectors(self, doc_ids: Sequence[str]) -> dict[str, np.ndarray]:
        if not doc_ids:
            return {}
        with self._cursor(binary=True) as cur:
            rows = cur.execute(f"SELECT text_sha, vector_send(embedding) FROM chunks c "
                               f"WHERE {self._visible('c')} AND doc_id = ANY(%s)", (list(doc_ids),)).fetchall()
        vectors = _vectors_from_send([r[1] for r in rows], self.dim)
        return dict(zip((r[0] for r in rows), vectors))

    def _chunk_table(self, columns: Sequence[str], where: str, params: Sequence = ()) -> pa.Table:
        schema = chunk_schema(self.dim)

        def expr(col: str) -> str:
            if col == "vector":
                return "vector_send(c.embedding)"
            if col == "terms":  # one string a row, split by Arrow: ~100 terms a chunk as Python strings is slow
                return "array_to_string(c.terms, ' ')"
            return f"c.{_SQL_NAME.get(col, col)}"

        with self._cursor(binary=True) as cur:
            rows = cur.execute(f"SELECT {', '.join(map(expr, columns))} FROM chunks c WHERE {self._visible('c')} "
                               f"AND {where} ORDER BY c.row_id", params).fetchall()
        arrays = []
        for i, col in enumerate(columns):
            values = [r[i] for r in rows]
            if col == "vector":
                flat = _vectors_from_send(values, self.dim).reshape(-1)
                arrays.append(pa.FixedSizeListArray.from_arrays(pa.array(flat, pa.float32()), self.dim))
            elif col == "terms":  # analyzer terms are runs of word characters: never a space, never empty
                joined = pa.array(values, pa.string())  # "" splits to [""]: a chunk without terms has none
                arrays.append(pc.if_else(pc.equal(joined, ""), pa.scalar([], pa.list_(pa.string())),
                                         pc.split_pattern(joined, " ")))
            else:
                arrays.append(pa.array(values, type=schema.field(col).type))
        return pa.Table.from_arrays(arrays, names=list(columns))

    def chunk_columns(self, chunk_ids: Sequence[str] | None = None) -> pa.Table:
        if chunk_ids is None:
            return self._chunk_table(CHUNK_COLUMNS, "TRUE")
        return self._chunk_table(CHUNK_COLUMNS, "c.chunk_id = ANY(%s)", (list(chunk_ids),))

    def chunk_ids(self) -> list[str]:
        with self._cursor() as cur:
            rows = cur.execute(f"SELECT c.chunk_id FROM chunks c WHERE {self._visible('c')} ORDER BY c.row_id")
            return [r[0] for r in rows.fetchall()]

    def chunks_by_id(self, chunk_ids: Sequence[str]) -> pa.Table:
        return self._chunk_table(RESULT_COLUMNS, "c.chunk_id = ANY(%s)", (list(chunk_ids),))

    def write_state(self, doc_ids: Sequence[str] | None = None) -> WriteState:
        where, params = _ids_where(doc_ids)
        with self._cursor() as cur:
            docs = cur.execute(f"SELECT doc_id, source, fingerprint FROM documents d "
                               f"WHERE {self._visible('d')}{where}", params).fetchall()
            inconsistent = cur.execute(
                f"SELECT d.doc_id FROM documents d LEFT JOIN (SELECT doc_id, count(*) AS n FROM chunks c "
                f"WHERE {self._visible('c')}{where} GROUP BY doc_id) found USING (doc_id) "
                f"WHERE {self._visible('d')}{where} AND coalesce(found.n, 0) <> d.n_chunks", params + params).fetchall()
            # a write is one transaction here, so chunks without a row come only from hand edits
            orphans = cur.execute(
                f"SELECT doc_id, count(*) FROM chunks c WHERE {self._visible('c')}{where} AND NOT EXISTS "
                f"(SELECT 1 FROM documents d WHERE d.doc_id = c.doc_id AND {self._visible('d')}) "
                f"GROUP BY doc_id", params).fetchall()
        return WriteState(sources={d: source for d, source, _ in docs},
                          fingerprints={d: fp for d, _, fp in docs},
                          inconsistent={r[0] for r in inconsistent}, orphans={d: int(n) for d, n in orphans})

    # ---- writes ------------------------------------------------------------------------------------------
    def _close(self, write: _Write, doc_ids: Sequence[str]) -> int:
        """End the live rows of these documents at the new version; returns how many documents that was."""
        cur = write.cur
        rows = cur.execute("UPDATE chunks SET valid_to = %s WHERE doc_id = ANY(%s) AND valid_to IS NULL "
                           "RETURNING row_id, n_terms", (write.version, list(doc_ids))).fetchall()
        self._closed(write, rows)
        closed = cur.execute("UPDATE documents SET valid_to = %s WHERE doc_id = ANY(%s) AND valid_to IS NULL",
                             (write.version, list(doc_ids))).rowcount
        write.changed = write.changed or bool(rows) or closed > 0
        return closed

    @staticmethod
    def _closed(write: _Write, rows: Sequence[tuple[int, int]]) -> None:
        """Chunk rows (row_id, n_terms) this write closed: their lengths rows close too, the totals drop."""
        if rows:
            write.cur.execute("UPDATE lengths SET valid_to = %s WHERE row_id = ANY(%s)",
                              (write.version, [r[0] for r in rows]))
            write.n_chunks -= len(rows)
            write.n_terms -= sum(r[1] for r in rows)

    def replace_documents(self, documents: Sequence[DocumentRecord], batch: ChunkBatch) -> None:
        if not documents:
            return
        chunks = batch.chunks
        vectors = np.asarray(batch.vectors, dtype=np.float32)
        if vectors.shape != (len(chunks), self.dim):
            raise StoreError(f"expected {len(chunks)} vectors of {self.dim} dims, got {vectors.shape}")
        for d in documents:  # PostgreSQL text cannot hold NUL; normalized text never does, ids and metadata might
            fields = [d.doc_id, d.title, d.source_path, d.source, *d.groups, *d.metadata.keys(), *d.metadata.values()]
            if any("\x00" in str(f) for f in fields):
                raise StoreError(f"document {d.doc_id!r}: its id, title, path, groups or metadata hold a NUL character "
                                 "(\\u0000), which PostgreSQL text cannot store; remove it from the source")
        with self._write() as write:
            cur = write.cur
            self._close(write, [d.doc_id for d in documents])
            with cur.copy(f"COPY documents ({', '.join(_DOC_COLUMNS)}, valid_from) FROM STDIN") as copy:
                for d in documents:
                    copy.write_row((d.doc_id, d.version, d.fingerprint, d.source_path, d.title, d.text,
                                    json.dumps(dict(d.metadata), sort_keys=True), list(d.groups), d.n_chunks,
                                    d.indexed_at, d.source, write.version))
            row_ids = [r[0] for r in cur.execute(
                "SELECT nextval(pg_get_serial_sequence('chunks', 'row_id')) FROM generate_series(1, %s)",
                (len(chunks),)).fetchall()]
            with cur.copy("COPY chunks (row_id, chunk_id, doc_id, doc_version, ordinal, text, start_char, end_char, "
                          "heading_path, source_path, metadata, meta_kv, groups, terms, n_terms, text_sha, "
                          "embedding, valid_from) FROM STDIN") as copy:
                for row_id, c, terms, vector in zip(row_ids, chunks, batch.terms, vectors):
                    copy.write_row((row_id, c.chunk_id, c.doc_id, c.doc_version, c.ordinal, c.text, c.start, c.end,
                                    list(c.heading_path), c.source_path, json.dumps(dict(c.metadata), sort_keys=True),
                                    metadata_pairs(c.metadata), list(batch.groups.get(c.doc_id, ())), list(terms),
                                    len(terms), sha256_text(c.text), _vector_text(vector), write.version))
            with cur.copy("COPY lengths (row_id, n_terms, valid_from) FROM STDIN") as copy:
                for row_id, terms in zip(row_ids, batch.terms):
                    copy.write_row((row_id, len(terms), write.version))
            with cur.copy("COPY postings (term, row_id, tf) FROM STDIN") as copy:
                for row_id, terms in zip(row_ids, batch.terms):
                    for term, tf in Counter(terms).items():
                        copy.write_row((term, row_id, tf))
            write.n_chunks += len(chunks)
            write.n_terms += sum(len(t) for t in batch.terms)
            write.changed = True

    def remove_documents(self, doc_ids: Sequence[str]) -> None:
        if not doc_ids:
            return
        with self._write() as write:
            self._close(write, doc_ids)

    def remove_source(self, name: str) -> int:
        with self._write() as write:
            ids = [r[0] for r in write.cur.execute(
                "SELECT doc_id FROM documents WHERE source = %s AND valid_to IS NULL", (name,)).fetchall()]
            removed = self._close(write, ids) if ids else 0
            write.cur.execute("DELETE FROM sources WHERE name = %s", (name,))
        return removed

    def save_source(self, source: SourceRecord) -> None:
        if self._pinned is not None:
            raise StoreError(f"store version {self._pinned} was opened read-only (for replay)")
        with self._cursor() as cur:
            cur.execute("INSERT INTO sources VALUES (%s, %s, %s, %s, %s) ON CONFLICT (name) DO UPDATE SET "
                        "root = EXCLUDED.root, kind = EXCLUDED.kind, created = EXCLUDED.created, "
                        "synced = EXCLUDED.synced",
                        (source.name, source.root, source.kind, source.created, source.synced))

    # ---- indexes and search ------------------------------------------------------------------------------
    def _hnsw_valid(self, cur) -> bool:
        if not self._hnsw:
            row = cur.execute("SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass(%s)",
                              (f"{self.schema}.{HNSW}",)).fetchone()
            self._hnsw = bool(row and row[0])
        return self._hnsw

    def uses_native_indexes(self) -> bool:
        """Whether the HNSW index exists (at this store's version: since when it was built, for a pinned one)."""
        with self._cursor() as cur:
            if self._pinned is None:
                return self._hnsw_valid(cur)
            row = cur.execute("SELECT value FROM meta WHERE key = 'native_from'").fetchone()
        return row is not None and int(row[0]) <= self._pinned

    def ensure_indexes(self, exact_max_chunks: int) -> None:
        """Build the HNSW index (cosine, live rows only) once the corpus has more than ``exact_max_chunks`` chunks.
        Built CONCURRENTLY: writers and readers go on meanwhile; PostgreSQL maintains it on every insert after."""
        if self._pinned is not None:
            return
        with self._cursor() as cur:
            if self._hnsw_valid(cur) or self.counts()[1] <= exact_max_chunks:
                return
            if not cur.execute("SELECT pg_try_advisory_lock(%s)", (self._lock_key + 1,)).fetchone()[0]:
                return  # another process is building it
            try:
                if self._hnsw_valid(cur):
                    return
                cur.execute(f"DROP INDEX IF EXISTS {HNSW}")  # an earlier build that was cut short left it invalid
                # the build is much faster when the graph fits in maintenance_work_mem: at least 256 MB for it
                kb = int(cur.execute("SELECT setting FROM pg_settings WHERE name = 'maintenance_work_mem'")
                         .fetchone()[0])
                if kb < 256 * 1024:
                    cur.execute("SET maintenance_work_mem = '256MB'")
                cur.execute(f"CREATE INDEX CONCURRENTLY {HNSW} ON chunks USING hnsw (embedding vector_cosine_ops) "
                            "WHERE valid_to IS NULL")
                cur.execute("RESET maintenance_work_mem")
                cur.execute("INSERT INTO meta VALUES ('native_from', (SELECT max(version) FROM versions)::text) "
                            "ON CONFLICT (key) DO NOTHING")
            finally:
                cur.execute("SELECT pg_advisory_unlock(%s)", (self._lock_key + 1,))

    def search_lexical(self, query: str, k: int, filters: Filters) -> list[ScoredId]:
        """BM25 exactly as ``ragtune.retrieve.lexical`` scores it: N, the average length and every document
        frequency over all chunks visible at this version; the filters pick which of them may be returned."""
        terms = sorted(set(analyze(query)))
        if not terms or k < 1:
            return []
        where, params = filters_sql(filters)
        scored = f"""
            WITH stats AS (SELECT n_chunks::float8 AS n, greatest(n_terms::float8 / greatest(n_chunks, 1), 1e-9)
                                  AS avgdl FROM ({self._stats_sql()}) v),
            hits AS (SELECT p.term, p.tf::float8 AS tf, p.row_id, l.n_terms::float8 AS dl
                     FROM postings p JOIN lengths l ON l.row_id = p.row_id
                     WHERE p.term = ANY(%(terms)s::text[]) AND {self._visible('l')}),
            df AS (SELECT term, count(*)::float8 AS df FROM hits GROUP BY term),
            scored AS (SELECT h.row_id, sum(ln(1 + (s.n - df.df + 0.5) / (df.df + 0.5)) * h.tf * (%(k1)s + 1)
                                            / (h.tf + %(k1)s * (1 - %(b)s + %(b)s * h.dl / s.avgdl))) AS score
                       FROM hits h JOIN df USING (term) CROSS JOIN stats s GROUP BY h.row_id)"""
        if where == "TRUE":  # the top k first, then only their chunk rows
            sql = f"""{scored},
            top AS (SELECT row_id, score FROM scored ORDER BY score DESC, row_id LIMIT %(k)s)
            SELECT c.chunk_id, top.score FROM top JOIN chunks c ON c.row_id = top.row_id
            ORDER BY top.score DESC, top.row_id"""
        else:  # the filters decide which scored chunks may be returned, before the cut at k
            sql = f"""{scored}
            SELECT c.chunk_id, s.score FROM scored s JOIN chunks c ON c.row_id = s.row_id WHERE {where}
            ORDER BY s.score DESC, s.row_id LIMIT %(k)s"""
        with self._cursor() as cur:
            rows = cur.execute(sql, {**params, "terms": terms, "k1": BM25_K1, "b": BM25_B, "k": k}).fetchall()
        return [ScoredId(cid, float(score)) for cid, score in rows]

    def search_dense(self, vector: np.ndarray, k: int, filters: Filters) -> list[ScoredId]:
        """Cosine similarity (1 - pgvector's cosine distance). Through the HNSW index with pgvector's iterative
        scan when it exists; when a restrictive filter leaves the index short of ``k`` rows, exactly."""
        if k < 1:
            return []
        where, params = filters_sql(filters)
        params = {**params, "q": _vector_text(vector), "k": k}
        select = (f"SELECT c.chunk_id, 1 - (c.embedding <=> %(q)s::vector) FROM chunks c "
                  f"WHERE {self._visible('c')} AND {where}")
        with self._connection() as conn:
            cur = conn.cursor()
            if self._pinned is None and self._hnsw_valid(cur):
                with conn.transaction():
                    cur.execute("SET LOCAL hnsw.iterative_scan = strict_order")
                    cur.execute(f"SET LOCAL hnsw.ef_search = {max(40, min(int(k), 1000))}")
                    rows = cur.execute(f"{select} ORDER BY c.embedding <=> %(q)s::vector LIMIT %(k)s",
                                       params).fetchall()
                if len(rows) >= k:
                    return [ScoredId(cid, float(score)) for cid, score in rows]
            # "+ 0" keeps the planner off the index: an exact scan of what the filters leave
            rows = cur.execute(f"{select} ORDER BY (c.embedding <=> %(q)s::vector) + 0, c.row_id LIMIT %(k)s",
                               params).fetchall()
        return [ScoredId(cid, float(score)) for cid, score in rows]

    # ---- maintenance -------------------------------------------------------------------------------------
    def collect(self, older_than: timedelta, keep: set[int]) -> CollectStats:
        """Delete versions created before ``older_than`` ago, except the current one and those in ``keep``, then
        the rows no remaining version can see (their postings go with them), and VACUUM so the space is reused."""
        if self._pinned is not None:
            raise StoreError(f"store version {self._pinned} was opened read-only (for replay)")
        with self._connection() as conn:
            with conn.transaction():
                cur = conn.cursor()
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
                current = cur.execute("SELECT max(version) FROM versions").fetchone()[0]
                existing = {r[0] for r in cur.execute("SELECT version FROM versions").fetchall()}
                pinned = sorted(v for v in keep if v in existing and v != current)
                removed = cur.execute(
                    "DELETE FROM versions WHERE version <> %s AND NOT (version = ANY(%s::bigint[])) "
                    "AND created < now() - %s", (current, pinned, older_than)).rowcount
                size = 0
                for table in ("chunks", "documents"):
                    size += int(cur.execute(
                        f"WITH gone AS (DELETE FROM {table} t WHERE t.valid_to IS NOT NULL AND NOT EXISTS "
                        "(SELECT 1 FROM versions v WHERE v.version >= t.valid_from AND v.version < t.valid_to) "
                        "RETURNING pg_column_size(t.*) AS size) SELECT coalesce(sum(size), 0) FROM gone"
                    ).fetchone()[0])
            for table in ("postings", "chunks", "documents", "versions"):
                conn.execute(f"VACUUM (ANALYZE) {table}")
        return CollectStats(removed, pinned, size)

    def describe(self) -> dict[str, str]:
        """Where the index is and what serves it (``ragtune status``)."""
        return {"location": f"{redact_url(self.url)} (schema {self.schema})",
                "server": f"PostgreSQL {self._server['server_version']}, pgvector {self._server['vector_version']}",
                "schema_version": str(SCHEMA_VERSION)}

    def drop(self) -> None:
        if self._pinned is not None:
            raise StoreError(f"store version {self._pinned} was opened read-only (for replay)")
        with self._cursor() as cur:
            cur.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
        self.close()

    def close(self) -> None:
        self._finalizer()
