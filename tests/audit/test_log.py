"""The audit log is a hash chain: any edit, deletion or reordering is detected and the first bad record named."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ragtune.audit.log import GENESIS, AuditLog, chain_hash
from ragtune.errors import InputError


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    log = AuditLog(tmp_path / "audit.sqlite")
    for i in range(5):
        log.append("answer", {"question": f"q{i}", "answer": f"a{i}"})
    return log


def raw(log: AuditLog) -> sqlite3.Connection:
    return sqlite3.connect(str(log.path), isolation_level=None)


def ids(log: AuditLog) -> list[str]:
    return [r.id for r in reversed(log.list(100))]


def test_an_untouched_log_verifies(log):
    result = log.verify()
    assert result.ok and result.records == 5 and result.first_bad is None


def test_records_chain_from_genesis(log):
    records = list(reversed(log.list(100)))
    assert records[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(records, records[1:]))


def test_an_edit_is_detected_at_that_record(log):
    target = ids(log)[2]
    raw(log).execute("UPDATE records SET body = replace(body, 'a2', 'a2 (edited)') WHERE id = ?", (target,))
    result = log.verify()
    assert not result.ok and result.first_bad == target and "edited" in result.reason


def test_an_edit_that_also_rewrites_its_own_hash_breaks_the_next_link(log):
    all_ids = ids(log)
    db = raw(log)
    prev, body = db.execute("SELECT prev_hash, body FROM records WHERE id = ?", (all_ids[1],)).fetchone()
    body = body.replace("a1", "forged")
    db.execute("UPDATE records SET body = ?, hash = ? WHERE id = ?", (body, chain_hash(prev, body), all_ids[1]))
    result = log.verify()
    assert not result.ok and result.first_bad == all_ids[2]


def test_a_deletion_is_detected_at_the_record_after_it(log):
    all_ids = ids(log)
    raw(log).execute("DELETE FROM records WHERE id = ?", (all_ids[1],))
    result = log.verify()
    assert not result.ok and result.first_bad == all_ids[2] and "deleted" in result.reason


def test_reordering_is_detected(log):
    all_ids = ids(log)
    db = raw(log)
    a = db.execute("SELECT body, prev_hash, hash FROM records WHERE id = ?", (all_ids[1],)).fetchone()
    b = db.execute("SELECT body, prev_hash, hash FROM records WHERE id = ?", (all_ids[3],)).fetchone()
    db.execute("UPDATE records SET body = ?, prev_hash = ?, hash = ? WHERE id = ?", (*b, all_ids[1]))
    db.execute("UPDATE records SET body = ?, prev_hash = ?, hash = ? WHERE id = ?", (*a, all_ids[3]))
    result = log.verify()
    assert not result.ok and result.first_bad == all_ids[1]


def test_truncating_the_newest_records_is_caught_by_the_head_file(log):
    raw(log).execute("DELETE FROM records WHERE seq = (SELECT MAX(seq) FROM records)")
    result = log.verify()
    assert not result.ok and result.first_bad == "#5" and "head file" in result.reason


def test_records_can_be_fetched_by_id_or_sequence_number(log):
    first = ids(log)[0]
    assert log.get(first).body["question"] == "q0" and log.get("1").id == first
    with pytest.raises(InputError, match="not found"):
        log.get("nope")


def test_the_schema_is_migrated_once(tmp_path):
    AuditLog(tmp_path / "a.sqlite").close()
    log = AuditLog(tmp_path / "a.sqlite")
    names = [r[0] for r in sqlite3.connect(str(log.path)).execute("SELECT name FROM _migrations")]
    assert names == ["m001_records"]
