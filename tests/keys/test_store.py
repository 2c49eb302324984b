"""API keys: shown once, stored as a hash, checked in constant time, revocable."""

from __future__ import annotations

import json
import sqlite3

import pytest

from ragtune.errors import InputError, NotFoundError
from ragtune.keys import KeyStore, parse_groups


def test_a_key_authenticates_as_itself_and_only_a_hash_is_stored(tmp_path):
    keys = KeyStore(tmp_path / "keys.sqlite")
    created = keys.create("ops, eng,eng", name="alice")
    assert created.api_key.groups == ("eng", "ops") and created.key.startswith(f"rt_{created.api_key.id}_")
    assert keys.authenticate(created.key) == created.api_key
    viewer = keys.authenticate(created.key).viewer
    assert viewer.key_id == created.api_key.id and viewer.groups == {"eng", "ops"} and not viewer.admin
    secret = created.key.split("_", 2)[2]
    raw = (tmp_path / "keys.sqlite").read_bytes()
    assert secret.encode() not in raw and created.key.encode() not in raw
    rows = sqlite3.connect(tmp_path / "keys.sqlite").execute("SELECT * FROM keys").fetchall()
    assert all(secret not in json.dumps(r) for r in rows)


@pytest.mark.parametrize("mangle", [
    lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"),  # wrong secret
    lambda k: k.replace("rt_k", "rt_x", 1),  # malformed id
    lambda k: "rt_k0000000000_" + k.split("_", 2)[2],  # unknown id
    lambda k: "", lambda k: "Bearer " + k, lambda k: k + "\n",
])
def test_anything_but_the_exact_key_fails(tmp_path, mangle):
    keys = KeyStore(tmp_path / "keys.sqlite")
    created = keys.create("eng")
    assert keys.authenticate(mangle(created.key)) is None


def test_a_revoked_key_stops_working_and_stays_listed(tmp_path):
    keys = KeyStore(tmp_path / "keys.sqlite")
    created = keys.create(admin=True)
    other = keys.create("eng")
    assert keys.active() == 2
    revoked = keys.revoke(created.api_key.id)
    assert revoked.revoked and keys.authenticate(created.key) is None and keys.authenticate(other.key)
    assert [k.id for k in keys.list()] == [created.api_key.id, other.api_key.id] and keys.active() == 1
    with pytest.raises(NotFoundError):
        keys.revoke("knope")


def test_no_keys_file_means_no_keys(tmp_path):
    keys = KeyStore(tmp_path / "keys.sqlite")
    assert keys.active() == 0 and keys.authenticate("rt_k0000000000_" + "a" * 43) is None
    assert not (tmp_path / "keys.sqlite").exists()


def test_group_names_are_checked():
    assert parse_groups(" b,a,,a ") == ("a", "b") and parse_groups(["x.y"]) == ("x.y",)
    with pytest.raises(InputError, match="group 'a b'"):
        parse_groups("a b")
