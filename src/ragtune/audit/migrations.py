"""The audit database schema as an ordered list of migrations; each runs once, in order, recorded by name."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

from ragtune.migrations import Migration, apply_migrations


def m001_records(db: sqlite3.Connection) -> None:
    db.execute(
        """
        CREATE TABLE records (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            created TEXT NOT NULL,
            kind TEXT NOT NULL,
            body TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX records_created ON records(created)")


def m002_chain_v2(db: sqlite3.Connection) -> None:
    """Chain format 2 hashes every column and may be keyed (``key_id``: the key's public id, NULL = unkeyed).
    Existing records are not re-chained: ``chain_formats`` records where format 2 starts, and records before that
    keep being checked by format 1's rule (see ragtune.audit.log)."""
    db.execute("ALTER TABLE records ADD COLUMN key_id TEXT")
    db.execute("CREATE TABLE chain_formats (format INTEGER PRIMARY KEY, first_seq INTEGER NOT NULL, "
               "switched TEXT NOT NULL)")
    db.execute("INSERT INTO chain_formats SELECT 2, COALESCE(MAX(seq), 0) + 1, ? FROM records",
               (datetime.now(timezone.utc).isoformat(),))


MIGRATIONS: list[Migration] = [m001_records, m002_chain_v2]


def migrate(db: sqlite3.Connection) -> None:
    """Bring the audit database to the newest schema (see :func:`ragtune.migrations.apply_migrations`)."""
    apply_migrations(db, MIGRATIONS)
