"""Append-only, hash-chained audit log in ``RAGTUNE_HOME/audit.sqlite``.

**What a record's hash covers (chain format 2).** Every stored column but the hash itself: ``seq``, ``id``,
``created``, ``kind``, the body text byte for byte, ``prev_hash`` and ``key_id``, as one canonical JSON text
(:func:`ragtune.audit.chain.hashed_form`). Editing any column — even swapping two records' ids — changes the
hash; deleting or reordering records breaks the next record's ``prev_hash``. :meth:`AuditLog.verify` names the
first bad record.

**Keys.** With ``RAGTUNE_AUDIT_KEY`` set, new hashes are HMAC-SHA256 under it and each record stores the key's
public id in ``key_id`` (NULL = plain SHA-256), so someone who rewrites the log without the key cannot make it
verify *with* the key. Rules that keep a rewrite from hiding:
- once a record is keyed, every later one must be (an unkeyed record after a keyed one fails the check, and
  appending without the key, or with another key, to a keyed log is refused);
- with the key set, verify fails unless some record is keyed: a keyed record vouches for every record before it
  (its HMAC covers ``prev_hash``), so stripping the keys and recomputing plain hashes is caught;
- a log written before the key was set becomes keyed only through ``ragtune audit seal`` (:meth:`AuditLog.seal`),
  which checks the log first; an ordinary append with the key onto an unkeyed log is refused, so the next answer
  never silently vouches for a chain someone rewrote.
Verify without the key still checks every link and every unkeyed record, but reports keyed records as unchecked
and does not pass (``ok`` false, ``unchecked`` > 0): it cannot tell a genuine keyed record from a forged one.

**The head.** Truncating the newest records leaves a valid shorter chain, so every append also writes the count
and last hash to ``audit.head``. Verify fails when the head is missing while records exist, says more records
than there are, or names a hash that is not the one at that position. Keep a copy of that line elsewhere for a
guarantee that does not rest on this machine (whoever can write here can rewrite the head too).

**Old logs (format 1).** Logs written before format 2 hashed ``prev_hash`` and the body only. They are not
re-chained (that would hide whatever happened before): migration ``m002_chain_v2`` records the switch point in
``chain_formats`` (``first_seq`` of format 2), records before it keep being checked by the old rule (plus: their
``created``/``kind`` columns must equal those in the hashed body), and every new record uses format 2. An id
swapped between two format-1 records cannot be detected; the first format-2 record still vouches for their order
and bodies through its ``prev_hash``.

**Concurrency.** One connection shared by the threads of a process, every use under a lock (sqlite3 connections
are not safe to use from two threads at once); appends from several processes are serialized by a lock file, so
the head is written in commit order. Verify reads the head before the records on its own connection, so a
concurrent append can only make the log longer than the head, which is allowed (the head is then a prefix
checkpoint) — never a false "records removed".
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping

from ragtune.audit.chain import (
    FORMAT,
    GENESIS,
    Head,
    Row,
    VerifyResult,
    check_append,
    check_chain,
    hashed_form,
    key_id,
    record_hash,
)
from ragtune.audit.migrations import migrate
from ragtune.errors import AuditError, ConfigError, NotFoundError
from ragtune.files import write_atomic
from ragtune.types import Viewer

__all__ = ["GENESIS", "AuditLog", "AuditRecord", "VerifyResult"]

_COLUMNS = "seq, id, created, kind, body, prev_hash, hash, key_id"


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    id: str
    created: str
    kind: str
    body: dict[str, Any]
    prev_hash: str
    hash: str
    key_id: str | None = None

    @property
    def keyed(self) -> bool:
        return self.key_id is not None

    def to_json(self) -> dict:
        return {"seq": self.seq, "id": self.id, "created": self.created, "kind": self.kind,
                "prev_hash": self.prev_hash, "hash": self.hash, "key_id": self.key_id, **self.body}


def _record(row: Row) -> AuditRecord:
    return AuditRecord(row.seq, row.id, row.created, row.kind, json.loads(row.body), row.prev_hash, row.hash,
                       row.key_id)


def _format2_from(db: sqlite3.Connection) -> int | None:
    row = db.execute("SELECT first_seq FROM chain_formats WHERE format = 2").fetchone()
    return row[0] if row else None


class AuditLog:
    def __init__(self, path: Path, key: str | None = None) -> None:
        self.path = path
        self.head_path = path.with_suffix(".head")
        self._key = key.encode("utf-8") if key else None
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        migrate(self._db)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """This process's threads one at a time (the shared connection), then other processes (the head file)."""
        with self._lock, open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def append(self, kind: str, body: dict[str, Any]) -> AuditRecord:
        """Add a record at the end of the chain; safe from many threads and processes."""
        with self._exclusive():
            return self._append_locked(kind, body, sealing=False)

    def seal(self) -> AuditRecord:
        """Start keyed records on a log written without a key: check it (every record, without the key rule), then
        append a keyed ``seal`` record whose HMAC vouches for all records before it. Run it only on a log you
        trust as it stands: sealing a log someone rewrote would vouch for the rewrite."""
        if self._key is None:
            raise ConfigError("sealing needs RAGTUNE_AUDIT_KEY: set it to a random key (16+ characters) that "
                              "whoever can write to the home cannot read")
        with self._exclusive():  # no append can slip in between the check and the seal
            result = self._check(require_keyed=False)
            if not result.ok:
                raise AuditError(f"not sealing: record {result.first_bad}: {result.reason}")
            return self._append_locked("seal", {"sealed_records": result.records}, sealing=True)

    def _append_locked(self, kind: str, body: dict[str, Any], *, sealing: bool) -> AuditRecord:
        """Append; the caller holds :meth:`_exclusive`."""
        record_id = uuid.uuid4().hex[:16]
        created = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        body_json = json.dumps({"created": created, "kind": kind, **body}, sort_keys=True, separators=(",", ":"),
                               ensure_ascii=False)
        record_key_id = key_id(self._key) if self._key else None
        self._db.execute("BEGIN IMMEDIATE")
        try:
            tail = self._tail()
            format2_from = _format2_from(self._db)
            if format2_from is None:
                raise AuditError("the audit log's chain_formats table lost its row: run `ragtune audit verify`")
            check_append(tail, FORMAT if tail and tail.seq >= format2_from else 1, self._key, sealing=sealing)
            seq = tail.seq + 1 if tail else max(format2_from, 1)
            prev = tail.hash if tail else GENESIS
            digest = record_hash(hashed_form(seq, record_id, created, kind, body_json, prev, record_key_id),
                                 self._key)
            self._db.execute(f"INSERT INTO records ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                             (seq, record_id, created, kind, body_json, prev, digest, record_key_id))
            count = self._db.execute("SELECT COUNT(*) FROM records").fetchone()[0]
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        # still under the lock: heads are written in commit order, so the last one written is the newest
        write_atomic(self.head_path, f"{count} {digest}\n")
        return AuditRecord(seq, record_id, created, kind, json.loads(body_json), prev, digest, record_key_id)

    def _tail(self) -> Row | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM records ORDER BY seq DESC LIMIT 1").fetchone()
        return Row(*row) if row else None

    @staticmethod
    def not_found(record_id: str) -> NotFoundError:
        """The one refusal for a record that is missing or that the caller may not see."""
        return NotFoundError(f"audit record {record_id!r} not found: `ragtune audit list` shows the ids")

    def get(self, record_id: str, viewer: Viewer | None = None) -> AuditRecord:
        """A record by id or sequence number; a ``viewer`` that may not see it gets the same error as for a
        missing one (:meth:`Viewer.sees_record`: its own records unless admin)."""
        with self._lock:
            row = self._db.execute(f"SELECT {_COLUMNS} FROM records WHERE id = ? OR CAST(seq AS TEXT) = ?",
                                   (record_id, record_id)).fetchone()
        record = _record(Row(*row)) if row is not None else None
        if record is None or (viewer is not None and not viewer.sees_record(record.body)):
            raise self.not_found(record_id)
        return record

    def list(self, limit: int = 20, viewer: Viewer | None = None, before: int | None = None) -> list[AuditRecord]:
        """The newest records (older than sequence number ``before``, when given), only ``viewer``'s own
        (filtered in the query, so ``limit`` counts those) unless it is an admin key."""
        clauses, args = [], []
        if viewer is not None and not viewer.admin:
            clauses.append("json_extract(body, '$.api_key_id') = ?")
            args.append(viewer.key_id)
        if before is not None:
            clauses.append("seq < ?")
            args.append(before)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM records {where} ORDER BY seq DESC LIMIT ?",
                                    (*args, limit)).fetchall()
        return [_record(Row(*r)) for r in rows]

    def pinned_store_versions(self, since: datetime) -> tuple[set[int], int]:
        """Store versions named by answer records created at or after ``since``, and how many records named one —
        read in SQL over the ``created`` index (``created`` is UTC ISO-8601 with milliseconds, so it sorts as
        text), not by loading the log."""
        cutoff = since.astimezone(timezone.utc).isoformat(timespec="milliseconds")
        with self._lock:
            rows = self._db.execute(
                "SELECT json_extract(body, '$.store_version') AS v, COUNT(*) FROM records WHERE created >= ? AND "
                "kind = 'answer' AND v IS NOT NULL GROUP BY v", (cutoff,)).fetchall()
        return {int(v) for v, _ in rows}, sum(n for _, n in rows)

    def extract(self, kind: str, fields: Mapping[str, str]) -> list[dict[str, Any]]:
        """Some fields of every record of ``kind``, oldest first: ``fields`` maps a name to a JSON path into the
        body (``"$.tokens.prompt"``); each row also holds ``created``. Read in the query, so large bodies (prompts)
        are never decoded — what ``ragtune cost`` needs from thousands of answers."""
        names = list(fields)
        columns = ", ".join(["created"] + ["json_extract(body, ?)"] * len(names))
        with self._lock:
            rows = self._db.execute(f"SELECT {columns} FROM records WHERE kind = ? ORDER BY seq",
                                    (*[fields[n] for n in names], kind)).fetchall()
        return [dict(zip(["created", *names], row)) for row in rows]

    def verify(self) -> VerifyResult:
        """Check the whole chain and the head (see the module docstring for what this proves, with and without
        a key)."""
        return self._check(require_keyed=True)

    def _check(self, *, require_keyed: bool) -> VerifyResult:
        head = self.read_head()  # before the records: a concurrent append can then only make the log longer
        # its own connection and read transaction: one consistent snapshot, and appends are not held up
        db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
        try:
            db.execute("BEGIN")
            format2_from = _format2_from(db)
            rows = (Row(*r) for r in db.execute(f"SELECT {_COLUMNS} FROM records ORDER BY seq"))
            return check_chain(rows, format2_from=format2_from, key=self._key, head=head,
                               require_keyed=require_keyed)
        finally:
            db.close()

    def read_head(self) -> Head | None:
        try:
            count, digest = self.head_path.read_text().split()
            return Head(int(count), digest)
        except (OSError, ValueError):
            return None
