"""The index's change history: one JSON line per ingest, sync, upload or removal, in ``RAGTUNE_HOME/ingest-history.jsonl``.

A line says when, what kind of write, how many documents each source gained, changed, lost or kept, how many
chunks were embedded, how long it took, and how big the index was afterwards. ``ragtune cost`` reads it for the
corpus's change rate (how often a fine-tuned adapter goes stale) and for the measured cost of embedding.

Lines are appended under the home's write lock (one writer at a time) and each is written with one ``write``
call, so a reader sees whole lines; a line cut short by a crash is skipped when read.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from ragtune.ingest.pipeline import IngestReport

HISTORY = "ingest-history.jsonl"
KINDS = ("ingest", "sync", "upload", "remove")


def history_path(home: Path) -> Path:
    return Path(home) / HISTORY


def history_entry(kind: str, report: IngestReport, documents: int, chunks: int,
                  at: datetime | None = None) -> dict:
    """One line of the history: ``report``'s counts, plus the index size (``documents``, ``chunks``) after it."""
    if kind not in KINDS:
        raise ValueError(f"history kind {kind!r}: expected one of {', '.join(KINDS)}")
    return {"at": (at or datetime.now(timezone.utc)).isoformat(timespec="seconds"), "kind": kind,
            "added": report.added, "updated": report.updated, "removed": report.removed,
            "unchanged": report.unchanged, "embedded": report.embedded, "chunks": report.chunks,
            "seconds": round(report.seconds, 3), "sources": report.by_source,
            "documents_after": documents, "chunks_after": chunks}


def append_history(home: Path, entry: dict) -> None:
    path = history_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def read_history(home: Path) -> list[dict]:
    """Every whole line, oldest first (a damaged line is skipped, not an error: the history is a measurement)."""
    path = history_path(home)
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("at"), str):
            entries.append(entry)
    return entries
