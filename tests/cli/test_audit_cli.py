"""`ragtune audit` through the real CLI on a log written directly (no model is loaded): exit codes and JSON."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from ragtune.audit.log import AuditLog

KEY = "k" * 32


def ragtune(home: Path, *args: str, key: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "RAGTUNE_AUDIT_KEY"}
    if key:
        env["RAGTUNE_AUDIT_KEY"] = key
    return subprocess.run([sys.executable, "-m", "ragtune.cli.main", "--home", str(home), *args],
                          capture_output=True, text=True, timeout=300, env=env, check=False)


def test_replay_of_a_tampered_log_exits_3_with_one_line(home):
    record = AuditLog(home / "audit.sqlite").append("answer", {"question": "q"})
    sqlite3.connect(str(home / "audit.sqlite"), isolation_level=None).execute(
        "UPDATE records SET body = replace(body, '\"q\"', '\"x\"')")
    result = ragtune(home, "audit", "replay", record.id, "--json")
    assert result.returncode == 3 and result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "does not verify" in lines[0] and record.id in lines[0]


def test_verify_without_the_key_cannot_pass_a_keyed_log_and_seal_starts_one(home):
    AuditLog(home / "audit.sqlite").append("answer", {"question": "q"})
    sealed = ragtune(home, "audit", "seal", "--json", key=KEY)
    assert sealed.returncode == 0, sealed.stderr
    assert json.loads(sealed.stdout)["sealed_records"] == 1
    keyed = ragtune(home, "audit", "verify", "--json", key=KEY)
    assert keyed.returncode == 0
    assert {"ok": True, "records": 2, "keyed": 1}.items() <= json.loads(keyed.stdout).items()
    unkeyed = ragtune(home, "audit", "verify")
    assert unkeyed.returncode == 3 and "CANNOT VERIFY" in unkeyed.stdout
