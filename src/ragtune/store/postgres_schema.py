"""The PostgreSQL store's schema as an ordered list of migrations, each applied once and recorded by name in the
index's ``migrations`` table (the way ``ragtune.audit.migrations`` keeps the audit log's).

Every table lives in the index's own schema (``ragtune`` by default), so one database can hold several indexes
and dropping the schema removes one completely. Versioning: ``versions`` holds one row per corpus version (every
write makes one, with the live chunk count and term total BM25 needs); a document or chunk row is visible at
version ``v`` when ``valid_from <= v`` and (``valid_to`` is NULL or ``valid_to > v``). A write never updates a row
in place: it closes the old rows (``valid_to`` = the new version) and inserts new ones, so every version inside
the retention window can be read as it was until ``collect`` deletes the rows no kept version can see.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Callable

Migration = Callable[["object", int], None]  # (cursor, vector dimension)

SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def m001_tables(cur, dim: int) -> None:
    cur.execute("CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL)")
    cur.execute("""
        CREATE TABLE versions (
            version bigint PRIMARY KEY,
            created timestamptz NOT NULL DEFAULT now(),
            n_chunks bigint NOT NULL,   -- chunks visible at this version: BM25's N
            n_terms bigint NOT NULL     -- their summed lengths: BM25's average length is n_terms / n_chunks
        )""")
    cur.execute("INSERT INTO versions (version, n_chunks, n_terms) VALUES (0, 0, 0)")
    cur.execute("""
        CREATE TABLE sources (
            name text PRIMARY KEY, root text NOT NULL, kind text NOT NULL, created text NOT NULL,
            synced text NOT NULL
        )""")
    cur.execute("""
        CREATE TABLE documents (
            row_id bigserial PRIMARY KEY,
            doc_id text NOT NULL,
            version text NOT NULL,
            fingerprint text NOT NULL,
            source_path text NOT NULL,
            title text NOT NULL,
            text text NOT NULL,
            metadata text NOT NULL,          -- JSON object, keys sorted
            groups text[] NOT NULL,
            n_chunks integer NOT NULL,
            indexed_at text NOT NULL,
            source text NOT NULL,
            valid_from bigint NOT NULL,
            valid_to bigint                  -- NULL: live
        )""")
    # one live row per document: a second writer that slipped past the lock fails instead of duplicating
    cur.execute("CREATE UNIQUE INDEX documents_live ON documents (doc_id) WHERE valid_to IS NULL")
    cur.execute("CREATE INDEX documents_live_source ON documents (source) WHERE valid_to IS NULL")
    cur.execute("CREATE INDEX documents_history ON documents (doc_id, valid_from)")
    cur.execute(f"""
        CREATE TABLE chunks (
            row_id bigserial PRIMARY KEY,
            chunk_id text NOT NULL,
            doc_id text NOT NULL,
            doc_version text NOT NULL,
            ordinal integer NOT NULL,
            text text NOT NULL,
            start_char bigint NOT NULL,
            end_char bigint NOT NULL,
            heading_path text[] NOT NULL,
            source_path text NOT NULL,
            metadata text NOT NULL,          -- JSON object, keys sorted
            meta_kv text[] NOT NULL,         -- ragtune.types.metadata_pairs: what metadata filters match
            groups text[] NOT NULL,          -- access groups (empty: visible to everyone)
            terms text[] NOT NULL,           -- the BM25 analyzer's terms, in order
            n_terms integer NOT NULL,
            text_sha text NOT NULL,
            embedding vector({int(dim)}) NOT NULL,
            valid_from bigint NOT NULL,
            valid_to bigint
        )""")
    cur.execute("CREATE UNIQUE INDEX chunks_live ON chunks (chunk_id) WHERE valid_to IS NULL")
    cur.execute("CREATE INDEX chunks_live_doc ON chunks (doc_id) WHERE valid_to IS NULL")
    cur.execute("CREATE INDEX chunks_history ON chunks (valid_from, valid_to)")
    cur.execute("CREATE INDEX chunks_meta ON chunks USING gin (meta_kv)")
    # BM25 postings: one row per (term, chunk row) with the term's frequency in that chunk
    cur.execute("""
        CREATE TABLE postings (
            term text NOT NULL,
            row_id bigint NOT NULL REFERENCES chunks (row_id) ON DELETE CASCADE,
            tf integer NOT NULL,
            -- tf in the index: a term's postings are read by an index-only scan of adjacent leaf pages, not
            -- fetched one heap page each (they were inserted chunk by chunk, so spread over the whole table)
            PRIMARY KEY (term, row_id) INCLUDE (tf)
        )""")
    cur.execute("CREATE INDEX postings_row ON postings (row_id)")
    # each chunk row's BM25 length and visibility again, narrow: scoring reads postings and this table only (a
    # chunk row holds its text and vector, ~3 kB), and fetches chunk rows for the top k (or to apply filters)
    cur.execute("""
        CREATE TABLE lengths (
            row_id bigint NOT NULL REFERENCES chunks (row_id) ON DELETE CASCADE,
            n_terms integer NOT NULL,
            valid_from bigint NOT NULL,
            valid_to bigint,
            PRIMARY KEY (row_id) INCLUDE (n_terms, valid_from, valid_to)
        )""")


MIGRATIONS: list[Migration] = [m001_tables]
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(cur, dim: int) -> None:
    """Apply pending migrations; the caller holds the index's write lock inside one transaction, so two
    processes opening a new index at once do not both create it, and a failed migration changes nothing."""
    cur.execute("CREATE TABLE IF NOT EXISTS migrations (name text PRIMARY KEY, applied timestamptz NOT NULL)")
    applied = {row[0] for row in cur.execute("SELECT name FROM migrations").fetchall()}
    known = {m.__name__ for m in MIGRATIONS}
    if applied - known:
        from ragtune.errors import IndexSchemaError

        raise IndexSchemaError(f"this index has schema migrations this ragtune does not know "
                               f"({', '.join(sorted(applied - known))}): it was written by a newer ragtune; "
                               "upgrade ragtune to use it")
    for migration in MIGRATIONS:
        if migration.__name__ not in applied:
            migration(cur, dim)
            cur.execute("INSERT INTO migrations VALUES (%s, %s)", (migration.__name__, datetime.now(timezone.utc)))
