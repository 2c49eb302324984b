"""Logs written before chain format 2 are not re-chained: their records keep being checked by the old rule, the
switch point is recorded, and new records chain on in format 2."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from ragtune.audit.chain import GENESIS, legacy_hash
from ragtune.audit.log import AuditLog
from ragtune.audit.migrations import m001_records
from ragtune.errors import ConfigError

KEY = "k" * 32


def format1_log(path: Path, n: int = 3) -> list[str]:
    """A log as ragtune wrote it before format 2: schema m001 only, hash = sha256(prev + "\\n" + body)."""
    db = sqlite3.connect(str(path), isolation_level=None)
    db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied TEXT NOT NULL)")
    m001_records(db)
    db.execute("INSERT INTO _migrations VALUES ('m001_records', '2025-01-01')")
    prev, ids = GENESIS, []
    for i in range(n):
        created = f"2025-01-0{i + 1}T00:00:00.000+00:00"
        body = json.dumps({"created": created, "kind": "answer", "question": f"q{i}"}, sort_keys=True,
                          separators=(",", ":"))
        digest = legacy_hash(prev, body)
        db.execute("INSERT INTO records (id, created, kind, body, prev_hash, hash) VALUES (?, ?, 'answer', ?, ?, ?)",
                   (f"old{i}", created, body, prev, digest))
        prev = digest
        ids.append(f"old{i}")
    path.with_suffix(".head").write_text(f"{n} {prev}\n")
    db.close()
    return ids


def test_an_old_log_is_migrated_with_its_switch_point_and_still_verifies(tmp_path):
    path = tmp_path / "audit.sqlite"
    format1_log(path)
    log = AuditLog(path)
    assert log.verify().ok
    db = sqlite3.connect(str(path))
    assert db.execute("SELECT format, first_seq FROM chain_formats").fetchall() == [(2, 4)]
    new = log.append("answer", {"question": "new"})
    assert new.seq == 4 and new.prev_hash == log.get("old2").hash
    result = log.verify()
    assert result.ok and result.records == 4


def test_edits_to_old_records_are_still_detected(tmp_path):
    path = tmp_path / "audit.sqlite"
    format1_log(path)
    log = AuditLog(path)
    log.append("answer", {"question": "new"})
    db = sqlite3.connect(str(path), isolation_level=None)
    db.execute("UPDATE records SET body = replace(body, 'q1', 'forged') WHERE id = 'old1'")
    assert log.verify().first_bad == "old1"
    db.execute("UPDATE records SET body = replace(body, 'forged', 'q1') WHERE id = 'old1'")
    db.execute("UPDATE records SET created = '1999-01-01' WHERE id = 'old2'")  # a column format 1 did not hash
    result = log.verify()
    assert not result.ok and result.first_bad == "old2" and "created/kind" in result.reason


def test_moving_the_switch_point_is_detected(tmp_path):
    path = tmp_path / "audit.sqlite"
    format1_log(path)
    log = AuditLog(path)
    new = log.append("answer", {"question": "new"})
    db = sqlite3.connect(str(path), isolation_level=None)
    db.execute("UPDATE chain_formats SET first_seq = 99")  # check the new record by the weaker old rule
    assert log.verify().first_bad == new.id
    db.execute("DELETE FROM chain_formats")
    assert "chain_formats" in log.verify().reason


def test_an_old_log_is_sealed_before_it_is_keyed(tmp_path):
    path = tmp_path / "audit.sqlite"
    format1_log(path)
    keyed = AuditLog(path, key=KEY)
    with pytest.raises(ConfigError, match="audit seal"):
        keyed.append("answer", {"question": "new"})
    keyed.seal()
    keyed.append("answer", {"question": "new"})
    result = keyed.verify()
    assert result.ok and result.records == 5 and result.keyed == 2
