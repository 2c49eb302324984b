"""With RAGTUNE_AUDIT_KEY the chain is HMAC-keyed: a writer without the key can rewrite the log so that a check
without the key passes, but never so that a check with the key does; and a check without the key never passes a
keyed log silently."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from ragtune.audit.chain import GENESIS, hashed_form, key_id, record_hash
from ragtune.audit.log import AuditLog
from ragtune.config import AuditConfig, Settings
from ragtune.errors import AuditError, ConfigError

KEY = "k" * 32
OTHER = "o" * 32


def keyed_log(path: Path, n: int = 4) -> AuditLog:
    log = AuditLog(path, key=KEY)
    for i in range(n):
        log.append("answer", {"question": f"q{i}", "answer": f"a{i}"})
    return log


def recompute(path: Path, key: str | None, *, from_seq: int = 1) -> None:
    """Rewrite the chain from ``from_seq`` on (and the head) as a writer holding ``key`` (None: no key) would."""
    db = sqlite3.connect(str(path), isolation_level=None)
    rows = db.execute("SELECT seq, id, created, kind, body, hash FROM records ORDER BY seq").fetchall()
    prev = GENESIS
    kid = key_id(key.encode()) if key else None
    for seq, rid, created, kind, body, digest in rows:
        if seq >= from_seq:
            digest = record_hash(hashed_form(seq, rid, created, kind, body, prev, kid), key.encode() if key else None)
            db.execute("UPDATE records SET prev_hash = ?, hash = ?, key_id = ? WHERE seq = ?", (prev, digest, kid, seq))
        prev = digest
    path.with_suffix(".head").write_text(f"{len(rows)} {prev}\n")


def test_a_keyed_log_verifies_with_its_key_and_names_the_key(tmp_path):
    log = keyed_log(tmp_path / "audit.sqlite")
    result = log.verify()
    assert result.ok and result.records == 4 and result.keyed == 4 and result.with_key
    assert {r.key_id for r in log.list()} == {key_id(KEY.encode())}


def test_without_the_key_a_keyed_log_is_not_a_silent_pass(tmp_path):
    keyed_log(tmp_path / "audit.sqlite")
    result = AuditLog(tmp_path / "audit.sqlite").verify()
    assert not result.ok and result.unchecked == 4 and "RAGTUNE_AUDIT_KEY" in result.reason


def test_a_wrong_key_fails(tmp_path):
    keyed_log(tmp_path / "audit.sqlite")
    result = AuditLog(tmp_path / "audit.sqlite", key=OTHER).verify()
    assert not result.ok and "another key" in result.reason


def test_a_chain_fully_recomputed_without_the_key_fails_with_the_key(tmp_path):
    path = tmp_path / "audit.sqlite"
    keyed_log(path)
    db = sqlite3.connect(str(path), isolation_level=None)
    db.execute("UPDATE records SET body = replace(body, 'a1', 'forged')")
    recompute(path, None)
    assert AuditLog(path).verify().ok  # the honest limit: without the key a full rewrite is indistinguishable
    result = AuditLog(path, key=KEY).verify()
    assert not result.ok and "no record is keyed" in result.reason


def test_a_chain_fully_recomputed_with_another_key_fails_with_the_key(tmp_path):
    path = tmp_path / "audit.sqlite"
    keyed_log(path)
    recompute(path, OTHER)
    result = AuditLog(path, key=KEY).verify()
    assert not result.ok and "another key" in result.reason


def test_recomputing_only_the_newest_records_without_the_key_fails(tmp_path):
    path = tmp_path / "audit.sqlite"
    log = keyed_log(path)
    third = list(reversed(log.list()))[2]
    recompute(path, None, from_seq=3)
    result = AuditLog(path, key=KEY).verify()
    assert not result.ok and result.first_bad == third.id and "not keyed although earlier" in result.reason


def test_an_edit_with_a_plain_hash_recomputed_fails(tmp_path):
    path = tmp_path / "audit.sqlite"
    log = keyed_log(path)
    target = list(reversed(log.list()))[1]
    db = sqlite3.connect(str(path), isolation_level=None)
    db.execute("UPDATE records SET body = replace(body, 'a1', 'forged') WHERE id = ?", (target.id,))
    seq, rid, created, kind, body, prev, kid = db.execute(
        "SELECT seq, id, created, kind, body, prev_hash, key_id FROM records WHERE id = ?", (target.id,)).fetchone()
    db.execute("UPDATE records SET hash = ? WHERE id = ?",
               (record_hash(hashed_form(seq, rid, created, kind, body, prev, kid), None), rid))
    result = AuditLog(path, key=KEY).verify()
    assert not result.ok and result.first_bad == target.id and "keyed hash" in result.reason


def test_appending_to_a_keyed_log_needs_its_key(tmp_path):
    path = tmp_path / "audit.sqlite"
    keyed_log(path, 1)
    with pytest.raises(ConfigError, match="is keyed"):
        AuditLog(path).append("answer", {})
    with pytest.raises(ConfigError, match="not the key"):
        AuditLog(path, key=OTHER).append("answer", {})
    assert AuditLog(path, key=KEY).verify().records == 1  # nothing was written


def test_an_unkeyed_log_becomes_keyed_only_by_sealing_it(tmp_path):
    path = tmp_path / "audit.sqlite"
    plain = AuditLog(path)
    plain.append("answer", {"question": "q"})
    keyed = AuditLog(path, key=KEY)
    assert not keyed.verify().ok  # the key is set but nothing vouches for the records yet
    with pytest.raises(ConfigError, match="audit seal"):
        keyed.append("answer", {"question": "r"})  # an answer must not silently vouch for a maybe-rewritten log
    sealed = keyed.seal()
    assert sealed.kind == "seal" and sealed.keyed and sealed.body["sealed_records"] == 1
    keyed.append("answer", {"question": "r"})
    result = keyed.verify()
    assert result.ok and result.records == 3 and result.keyed == 2


def test_sealing_refuses_a_log_that_does_not_verify(tmp_path):
    path = tmp_path / "audit.sqlite"
    plain = AuditLog(path)
    plain.append("answer", {"question": "q"})
    sqlite3.connect(str(path), isolation_level=None).execute("UPDATE records SET body = replace(body, 'q', 'x')")
    with pytest.raises(AuditError, match="not sealing"):
        AuditLog(path, key=KEY).seal()
    with pytest.raises(ConfigError, match="RAGTUNE_AUDIT_KEY"):
        plain.seal()


def test_the_key_comes_from_the_environment_is_hidden_and_must_be_long(monkeypatch, tmp_path):
    monkeypatch.setenv("RAGTUNE_AUDIT_KEY", KEY)
    settings = Settings(home=tmp_path)
    assert settings.audit.key == KEY and KEY not in repr(settings)
    with pytest.raises(ConfigError, match="16 characters"):
        replace(settings, audit=AuditConfig(key="short"))
