"""The audit log is a hash chain over every stored column: any edit, swap, deletion, reordering or truncation is
detected and the first bad record named."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from ragtune.audit.chain import Head, hashed_form, record_hash
from ragtune.audit.log import GENESIS, AuditLog
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


def rehash(db: sqlite3.Connection, record_id: str) -> None:
    """What a writer without a key can do: recompute one record's (unkeyed) hash after editing it."""
    seq, rid, created, kind, body, prev, key_id = db.execute(
        "SELECT seq, id, created, kind, body, prev_hash, key_id FROM records WHERE id = ?", (record_id,)).fetchone()
    digest = record_hash(hashed_form(seq, rid, created, kind, body, prev, key_id), None)
    db.execute("UPDATE records SET hash = ? WHERE id = ?", (digest, record_id))


def test_an_untouched_log_verifies(log):
    result = log.verify()
    assert result.ok and result.records == 5 and result.first_bad is None
    assert {"ok", "records", "first_bad", "reason"} <= set(result.to_json())


def test_records_chain_from_genesis(log):
    records = list(reversed(log.list(100)))
    assert records[0].prev_hash == GENESIS and [r.seq for r in records] == [1, 2, 3, 4, 5]
    assert all(b.prev_hash == a.hash for a, b in zip(records, records[1:]))


def test_an_edit_is_detected_at_that_record(log):
    target = ids(log)[2]
    raw(log).execute("UPDATE records SET body = replace(body, 'a2', 'a2 (edited)') WHERE id = ?", (target,))
    result = log.verify()
    assert not result.ok and result.first_bad == target and "edited" in result.reason


@pytest.mark.parametrize("column, value", [("created", "2001-01-01T00:00:00.000+00:00"), ("kind", "note"),
                                           ("id", "0123456789abcdef"), ("key_id", "feedfeedfeedfeed")])
def test_editing_any_column_is_detected(log, column, value):
    target, after = ids(log)[2:4]
    raw(log).execute(f"UPDATE records SET {column} = ? WHERE id = ?", (value, target))
    result = log.verify()
    # a record falsely marked keyed cannot be checked without the key; the unkeyed record after it gives it away
    expected = {"id": value, "key_id": after}.get(column, target)
    assert not result.ok and result.first_bad == expected


def test_swapping_two_records_ids_is_detected(log):
    a, b = ids(log)[1], ids(log)[3]
    db = raw(log)
    db.execute("UPDATE records SET id = 'swap' WHERE id = ?", (a,))
    db.execute("UPDATE records SET id = ? WHERE id = ?", (a, b))
    db.execute("UPDATE records SET id = ? WHERE id = 'swap'", (b,))
    result = log.verify()
    assert not result.ok and result.first_bad == b and "edited" in result.reason  # b now sits at a's place


def test_an_edit_that_also_rewrites_its_own_hash_breaks_the_next_link(log):
    all_ids = ids(log)
    db = raw(log)
    db.execute("UPDATE records SET body = replace(body, 'a1', 'forged') WHERE id = ?", (all_ids[1],))
    rehash(db, all_ids[1])
    result = log.verify()
    assert not result.ok and result.first_bad == all_ids[2] and "link" in result.reason


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
    assert not result.ok and result.first_bad == "#5" and "audit.head says 5" in result.reason


def test_a_missing_head_fails_while_records_exist(log, tmp_path):
    log.head_path.unlink()
    result = log.verify()
    assert not result.ok and result.first_bad == "audit.head" and "missing" in result.reason
    assert AuditLog(tmp_path / "empty.sqlite").verify().ok  # no records, no head: nothing to vouch for


def test_a_head_naming_another_hash_fails(log):
    count = log.read_head().count
    log.head_path.write_text(f"{count} {'f' * 64}\n")
    result = log.verify()
    assert not result.ok and result.first_bad == "#5" and "replaced" in result.reason


def test_a_head_behind_the_log_is_a_checkpoint_of_its_prefix(log):
    # a verify that read the head just before another process appended sees a longer log: not tampering
    third = list(reversed(log.list(100)))[2]
    log.head_path.write_text(f"3 {third.hash}\n")
    assert log.verify().ok


def test_appends_from_many_threads_keep_one_chain_and_a_consistent_head(tmp_path):
    log = AuditLog(tmp_path / "audit.sqlite")
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(50):
                log.append("answer", {"thread": n, "i": i})
        except BaseException as exc:  # noqa: BLE001 — reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    result = log.verify()
    assert result.ok and result.records == 400
    newest = log.list(1)[0]
    assert newest.seq == 400 and log.read_head() == Head(400, newest.hash)


def test_records_can_be_fetched_by_id_or_sequence_number(log):
    first = ids(log)[0]
    assert log.get(first).body["question"] == "q0" and log.get("1").id == first
    with pytest.raises(InputError, match="not found"):
        log.get("nope")


def test_the_schema_is_migrated_once(tmp_path):
    AuditLog(tmp_path / "a.sqlite").close()
    log = AuditLog(tmp_path / "a.sqlite")
    db = sqlite3.connect(str(log.path))
    assert [r[0] for r in db.execute("SELECT name FROM _migrations")] == ["m001_records", "m002_chain_v2"]
    assert db.execute("SELECT format, first_seq FROM chain_formats").fetchall() == [(2, 1)]
