"""Append-only, hash-chained audit log in ``RAGTUNE_HOME/audit.sqlite``.

Each record stores the hash of the previous one: ``hash = sha256(prev_hash + "\\n" + canonical JSON body)``.
Editing a record changes its hash; deleting or reordering records breaks the next record's ``prev_hash``; both
are found by :func:`AuditLog.verify`, which names the first bad record. Truncating the newest records leaves a
valid shorter chain, so every append also writes the head (count and last hash) to ``audit.head``; keep a copy
of that line elsewhere (or in your log shipper) for a guarantee that does not rest on this machine.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ragtune.audit.migrations import migrate
from ragtune.errors import InputError

GENESIS = "0" * 64


def canonical(body: dict) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, body_json: str) -> str:
    return hashlib.sha256((prev_hash + "\n" + body_json).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    id: str
    created: str
    kind: str
    body: dict[str, Any]
    prev_hash: str
    hash: str

    def to_json(self) -> dict:
        return {"seq": self.seq, "id": self.id, "created": self.created, "kind": self.kind,
                "prev_hash": self.prev_hash, "hash": self.hash, **self.body}


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    records: int
    first_bad: str | None
    reason: str | None

    def to_json(self) -> dict:
        return {"ok": self.ok, "records": self.records, "first_bad": self.first_bad, "reason": self.reason}


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.head_path = path.with_suffix(".head")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        migrate(self._db)

    def close(self) -> None:
        self._db.close()

    def append(self, kind: str, body: dict[str, Any]) -> AuditRecord:
        """Add a record at the end of the chain (serialized across processes by SQLite's write lock)."""
        record_id = uuid.uuid4().hex[:16]
        created = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        full_body = {"created": created, "kind": kind, **body}
        body_json = canonical(full_body)
        self._db.execute("BEGIN IMMEDIATE")
        try:
            row = self._db.execute("SELECT hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
            prev = row[0] if row else GENESIS
            digest = chain_hash(prev, body_json)
            cursor = self._db.execute(
                "INSERT INTO records (id, created, kind, body, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?)",
                (record_id, created, kind, body_json, prev, digest),
            )
            count = self._db.execute("SELECT COUNT(*) FROM records").fetchone()[0]
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self.head_path.write_text(f"{count} {digest}\n")
        return AuditRecord(int(cursor.lastrowid), record_id, created, kind, full_body, prev, digest)

    def _row(self, row) -> AuditRecord:
        seq, record_id, created, kind, body, prev, digest = row
        return AuditRecord(seq, record_id, created, kind, json.loads(body), prev, digest)

    def get(self, record_id: str) -> AuditRecord:
        row = self._db.execute(
            "SELECT seq, id, created, kind, body, prev_hash, hash FROM records WHERE id = ? OR CAST(seq AS TEXT) = ?",
            (record_id, record_id),
        ).fetchone()
        if row is None:
            raise InputError(f"audit record {record_id!r} not found: `ragtune audit list` shows the ids")
        return self._row(row)

    def list(self, limit: int = 20) -> list[AuditRecord]:
        rows = self._db.execute(
            "SELECT seq, id, created, kind, body, prev_hash, hash FROM records ORDER BY seq DESC LIMIT ?", (limit,)
        ).fetchall()
        return [self._row(r) for r in rows]

    def verify(self) -> VerifyResult:
        expected_prev = GENESIS
        count = 0
        last_hash = GENESIS
        for seq, record_id, _created, _kind, body, prev, digest in self._db.execute(
            "SELECT seq, id, created, kind, body, prev_hash, hash FROM records ORDER BY seq"
        ):
            count += 1
            if prev != expected_prev:
                return VerifyResult(False, count, record_id,
                                    "previous-hash link broken: a record before it was deleted, inserted or moved")
            if chain_hash(prev, body) != digest:
                return VerifyResult(False, count, record_id, "content does not match its hash: the record was edited")
            expected_prev = last_hash = digest
        head = self._read_head()
        if head is not None and (head[0] > count or (head[0] == count and head[1] != last_hash)):
            return VerifyResult(False, count, f"#{count + 1}" if head[0] > count else f"#{count}",
                                f"the log holds {count} records but its head file says {head[0]}: records at the "
                                "end were removed or replaced")
        return VerifyResult(True, count, None, None)

    def _read_head(self) -> tuple[int, str] | None:
        try:
            count, digest = self.head_path.read_text().split()
            return int(count), digest
        except (OSError, ValueError):
            return None
