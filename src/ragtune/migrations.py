"""Apply an SQLite schema given as an ordered list of migration functions (the audit log and the API keys use
it): each runs once, in order, recorded by name in ``_migrations``."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from typing import Callable, Sequence

Migration = Callable[[sqlite3.Connection], None]


def apply_migrations(db: sqlite3.Connection, migrations: Sequence[Migration]) -> None:
    """Apply pending migrations in one write transaction (``db`` must be in autocommit mode,
    ``isolation_level=None``): two processes opening a database at once do not both migrate it, and a failed
    migration leaves the schema as it was."""
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied TEXT NOT NULL)")
    db.execute("BEGIN IMMEDIATE")
    try:
        applied = {row[0] for row in db.execute("SELECT name FROM _migrations")}
        for migration in migrations:
            if migration.__name__ not in applied:
                migration(db)
                db.execute("INSERT INTO _migrations VALUES (?, ?)",
                           (migration.__name__, datetime.now(timezone.utc).isoformat()))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
