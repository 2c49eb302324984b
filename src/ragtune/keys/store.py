"""API keys in ``RAGTUNE_HOME/keys.sqlite``: id, name, groups, admin flag and a hash of the secret — never the
secret itself, which is shown once when the key is created.

A key reads ``rt_<id>_<secret>``. The id is public (it names the key in ``keys list``, access logs and audit
records); the secret is 32 random bytes from :mod:`secrets`. The store keeps ``sha256(secret)``: a slow password
hash (bcrypt, argon2) exists to make guessing *low-entropy* passwords expensive, but a 256-bit random secret
cannot be guessed at any hash speed, so a fast hash costs an attacker nothing extra and keeps every request's
check to microseconds. The id in the key selects one row, so checking a key is one lookup and one constant-time
comparison (:func:`hmac.compare_digest`) whatever the number of keys.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

from ragtune.errors import InputError, NotFoundError
from ragtune.migrations import apply_migrations
from ragtune.types import Viewer

PREFIX = "rt"
_GROUP = re.compile(r"[A-Za-z0-9._-]{1,64}")
_KEY = re.compile(r"rt_(k[0-9a-f]{10})_([A-Za-z0-9_-]{20,100})")


def parse_groups(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Comma-separated (or listed) group names → sorted unique names; letters, digits, '.', '_', '-'."""
    items = value.split(",") if isinstance(value, str) else list(value or ())
    groups = sorted({g.strip() for g in items if g.strip()})
    for group in groups:
        if not _GROUP.fullmatch(group):
            raise InputError(f"group {group!r}: use letters, digits, '.', '_' or '-' (up to 64 characters)")
    return tuple(groups)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    groups: tuple[str, ...]
    admin: bool
    created: str
    revoked: str | None = None

    @property
    def viewer(self) -> Viewer:
        return Viewer(self.id, frozenset(self.groups), self.admin)

    def to_json(self) -> dict:
        return {"id": self.id, "name": self.name, "groups": list(self.groups), "admin": self.admin,
                "created": self.created, "revoked": self.revoked}


@dataclass(frozen=True)
class CreatedKey:
    """A new key with its secret: the only time the full key exists outside the caller's hands."""

    api_key: ApiKey
    key: str

    def to_json(self) -> dict:
        return {**self.api_key.to_json(), "key": self.key}


def m001_keys(db: sqlite3.Connection) -> None:
    db.execute("""
        CREATE TABLE keys (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            secret_sha256 TEXT NOT NULL,
            groups TEXT NOT NULL,   -- JSON array of group names
            admin INTEGER NOT NULL,
            created TEXT NOT NULL,
            revoked TEXT            -- NULL while the key works
        )""")


MIGRATIONS = [m001_keys]
_COLUMNS = "id, name, groups, admin, created, revoked"


def _key(row: tuple) -> ApiKey:
    return ApiKey(row[0], row[1], tuple(json.loads(row[2])), bool(row[3]), row[4], row[5])


class KeyStore:
    """Keys of one home. Every call opens its own connection: safe from any thread and any worker process, and a
    revocation is seen by the next request everywhere."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._migrated = False

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
        if not self._migrated:
            db.execute("PRAGMA journal_mode=WAL")
            apply_migrations(db, MIGRATIONS)
            self._migrated = True
        return db

    def create(self, groups: str | Iterable[str] = (), *, admin: bool = False, name: str | None = None) -> CreatedKey:
        groups = parse_groups(groups)  # a non-admin key with no groups sees only documents that have none
        key_id = "k" + secrets.token_hex(5)
        secret = secrets.token_urlsafe(32)
        created = ApiKey(key_id, (name or key_id).strip()[:100] or key_id, groups, admin, _now())
        with closing(self._connect()) as db:
            db.execute("INSERT INTO keys VALUES (?, ?, ?, ?, ?, ?, NULL)",
                       (key_id, created.name, _digest(secret), json.dumps(list(groups)), int(admin), created.created))
        return CreatedKey(created, f"{PREFIX}_{key_id}_{secret}")

    def list(self) -> list[ApiKey]:
        with closing(self._connect()) as db:
            return [_key(r) for r in db.execute(f"SELECT {_COLUMNS} FROM keys ORDER BY rowid")]

    def get(self, key_id: str) -> ApiKey:
        with closing(self._connect()) as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM keys WHERE id = ?", (key_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"key {key_id!r} not found: `ragtune keys list` shows the ids")
        return _key(row)

    def revoke(self, key_id: str) -> ApiKey:
        """Stop a key working; its row stays, so audit records that name its id still say whose it was."""
        key = self.get(key_id)
        if key.revoked is None:
            with closing(self._connect()) as db:
                db.execute("UPDATE keys SET revoked = ? WHERE id = ? AND revoked IS NULL", (_now(), key_id))
        return self.get(key_id)

    def active(self) -> int:
        """How many keys work (``ragtune serve`` refuses a non-loopback host while this is 0)."""
        if not self.path.exists():
            return 0
        with closing(self._connect()) as db:
            return int(db.execute("SELECT COUNT(*) FROM keys WHERE revoked IS NULL").fetchone()[0])

    def authenticate(self, token: str) -> ApiKey | None:
        """The working key ``token`` is, or None (malformed, unknown, wrong secret, revoked)."""
        match = _KEY.fullmatch(token or "")
        if match is None or not self.path.exists():
            return None
        key_id, secret = match.groups()
        with closing(self._connect()) as db:
            row = db.execute(f"SELECT {_COLUMNS}, secret_sha256 FROM keys WHERE id = ?", (key_id,)).fetchone()
        if row is None:
            return None
        if not hmac.compare_digest(row[6], _digest(secret)) or row[5] is not None:
            return None
        return _key(row[:6])
