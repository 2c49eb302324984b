"""``ragtune keys``: create (the key printed once), list (no secrets), revoke; user errors exit 2."""

from __future__ import annotations

import json

from tests.cli.test_cli import assert_user_error, ragtune


def test_the_keys_commands(home):
    made = ragtune(home, "keys", "create", "--groups", "eng", "--name", "alice", "--json")
    assert made.returncode == 0, made.stderr
    data = json.loads(made.stdout)
    assert {"id", "key", "groups"} <= set(data) and data["groups"] == ["eng"] and data["name"] == "alice"
    listed = ragtune(home, "keys", "list", "--json")
    assert json.loads(listed.stdout)["keys"][0]["id"] == data["id"] and data["key"].split("_", 2)[2] not in listed.stdout
    revoked = ragtune(home, "keys", "revoke", data["id"], "--json")
    assert revoked.returncode == 0 and json.loads(revoked.stdout)["revoked"]
    assert_user_error(ragtune(home, "keys", "create", "--groups", "a b"), "group 'a b'")
    assert_user_error(ragtune(home, "keys", "revoke", "knope"), "knope", "not found")
