"""The audit chain's rules as pure functions: what a record's hash covers, and how stored rows are checked.

The design (formats, keys, the head, what a check proves) is described in :mod:`ragtune.audit.log`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Iterable

from ragtune.errors import AuditError, ConfigError

GENESIS = "0" * 64
FORMAT = 2  # the chain format new records are written in; records before ``chain_formats.first_seq`` are format 1


def canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Row:
    """One record exactly as stored: every column, ``body`` as the stored text (not re-serialized)."""

    seq: int
    id: str
    created: str
    kind: str
    body: str
    prev_hash: str
    hash: str
    key_id: str | None


@dataclass(frozen=True)
class Head:
    """The contents of ``audit.head``: how many records the log held after the last append, and the last hash."""

    count: int
    hash: str


def key_id(key: bytes) -> str:
    """A public name for a key: lets a check say "written with another key" rather than "edited", and lets a
    check without the key say which key it needs. It is an HMAC, so it reveals nothing about the key."""
    return hmac.new(key, b"ragtune audit key id", hashlib.sha256).hexdigest()[:16]


def legacy_hash(prev_hash: str, body: str) -> str:
    """Format 1 (logs written before format 2): previous hash and body only; id and columns are not covered."""
    return hashlib.sha256((prev_hash + "\n" + body).encode("utf-8")).hexdigest()


def hashed_form(seq: int, record_id: str, created: str, kind: str, body: str, prev_hash: str,
                record_key_id: str | None) -> str:
    """Format 2: one canonical JSON text holding every stored column (but the hash itself), so editing, swapping
    or renumbering any of them changes the hash. ``body`` goes in as the stored text, byte for byte."""
    return canonical({"format": 2, "seq": seq, "id": record_id, "created": created, "kind": kind, "body": body,
                      "prev_hash": prev_hash, "key_id": record_key_id})


def record_hash(form: str, key: bytes | None) -> str:
    """SHA-256 of the form, or HMAC-SHA256 under the key for a keyed record."""
    data = form.encode("utf-8")
    if key is None:
        return hashlib.sha256(data).hexdigest()
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def row_form(row: Row) -> str:
    return hashed_form(row.seq, row.id, row.created, row.kind, row.body, row.prev_hash, row.key_id)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    records: int
    first_bad: str | None
    reason: str | None
    keyed: int = 0  # records whose hash is an HMAC
    unchecked: int = 0  # keyed records whose hash could not be checked (no key given)
    with_key: bool = False  # whether the check ran with RAGTUNE_AUDIT_KEY

    def to_json(self) -> dict:
        return {"ok": self.ok, "records": self.records, "first_bad": self.first_bad, "reason": self.reason,
                "keyed": self.keyed, "unchecked": self.unchecked, "with_key": self.with_key}


def _legacy_problem(row: Row) -> str | None:
    if row.key_id is not None:
        return "a format-1 record cannot be keyed: the record was edited"
    if legacy_hash(row.prev_hash, row.body) != row.hash:
        return "content does not match its hash: the record was edited"
    # format 1 hashed created and kind inside the body only; the columns must agree with it
    try:
        body = json.loads(row.body)
    except ValueError:
        return "its body is not JSON: the record was edited"
    if not isinstance(body, dict) or body.get("created") != row.created or body.get("kind") != row.kind:
        return "its created/kind columns differ from its hashed body: the record was edited"
    return None


def _record_problem(row: Row, key: bytes | None, keyed_before: bool) -> str | None:
    """Why a format-2 row's hash is wrong, or None (also None for a keyed row without a key: counted as unchecked)."""
    if row.key_id is None:
        if keyed_before:
            return "not keyed although earlier records are: the chain was rewritten without the key"
        return None if record_hash(row_form(row), None) == row.hash else (
            "a field does not match its hash: the record was edited")
    if key is None:
        return None
    if row.key_id != key_id(key):
        return (f"written with another key (key id {row.key_id}; RAGTUNE_AUDIT_KEY has id {key_id(key)}): "
                "a wrong key, or the chain was rewritten")
    return None if record_hash(row_form(row), key) == row.hash else (
        "a field does not match its keyed hash: the record was edited")


def check_chain(rows: Iterable[Row], *, format2_from: int | None, key: bytes | None, head: Head | None,
                require_keyed: bool = True) -> VerifyResult:
    """Check rows in ``seq`` order: each links to the previous hash, each hash matches its record by its format's
    rule (format 1 before ``format2_from``), the head matches, and with a key every record is vouched for by a
    keyed one. ``require_keyed=False`` skips only that last rule (used to check a log before sealing it)."""
    with_key = key is not None
    count = keyed = unchecked = 0
    expected_prev = GENESIS
    first_id = first_keyed_id = None
    head_position_hash = GENESIS  # the hash of record #head.count, which audit.head must name

    def fail(first_bad: str, reason: str) -> VerifyResult:
        return VerifyResult(False, count, first_bad, reason, keyed, unchecked, with_key)

    for row in rows:
        count += 1
        first_id = first_id or row.id
        if format2_from is None:
            return fail(row.id, "the chain_formats table lost its row: the log's format switch point was edited")
        if row.prev_hash != expected_prev:
            return fail(row.id, "previous-hash link broken: a record before it was deleted, inserted or moved")
        if row.seq < format2_from:
            problem = _legacy_problem(row)
        else:
            problem = _record_problem(row, key, keyed > 0)
        if problem:
            return fail(row.id, problem)
        if row.key_id is not None:
            keyed += 1
            first_keyed_id = first_keyed_id or row.id
            unchecked += key is None
        expected_prev = row.hash
        if head is not None and count == head.count:
            head_position_hash = row.hash

    if head is None and count:
        return fail("audit.head", "audit.head is missing or unreadable while records exist: it is what catches "
                                  "removed newest records; restore it from your copy")
    if head is not None and head.count > count:
        return fail(f"#{count + 1}", f"the log holds {count} records but audit.head says {head.count}: records at "
                                     "the end were removed")
    if head is not None and head_position_hash != head.hash:
        return fail(f"#{head.count}", f"record #{head.count} does not have the hash audit.head names: records at "
                                      "the end were replaced")
    if with_key and require_keyed and count and not keyed:
        return fail(first_id, "no record is keyed although RAGTUNE_AUDIT_KEY is set: the chain was rewritten without "
                              "the key, or it predates the key (then verify it without the key and run "
                              "`ragtune audit seal`)")
    if unchecked:
        return fail(first_keyed_id, f"{unchecked} records are keyed (HMAC) and cannot be checked without the key: "
                                    "set RAGTUNE_AUDIT_KEY and verify again")
    return VerifyResult(True, count, None, None, keyed, unchecked, with_key)


def check_append(tail: Row | None, tail_format: int, key: bytes | None, *, sealing: bool) -> None:
    """Refuse to append where the result could not verify, or would hide a rewrite: after a keyed record without
    the key (or with another key, or on a keyed record that does not match its hash), and keyed after an unkeyed
    record unless sealing — otherwise the next answer would silently vouch for a chain someone rewrote unkeyed."""
    if tail is None:
        return
    if tail.key_id is not None:
        if key is None:
            raise ConfigError(f"the audit log is keyed (key id {tail.key_id}): set RAGTUNE_AUDIT_KEY to its key "
                              "(or move audit.sqlite aside to start a new log)")
        if tail.key_id != key_id(key):
            raise ConfigError(f"RAGTUNE_AUDIT_KEY (key id {key_id(key)}) is not the key this audit log was written "
                              f"with (key id {tail.key_id}): set the right key")
        if tail_format >= 2 and record_hash(row_form(tail), key) != tail.hash:
            raise AuditError("the newest audit record does not match its keyed hash: run `ragtune audit verify`")
    elif key is not None and not sealing:
        raise ConfigError("the audit log's newest record is not keyed but RAGTUNE_AUDIT_KEY is set: check it with "
                          "`ragtune audit verify` (without the key), then run `ragtune audit seal`")
