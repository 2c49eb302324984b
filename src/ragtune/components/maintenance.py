"""Garbage collection: old store versions go, except those audit records inside the retention window pin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ragtune.audit.log import AuditLog
from ragtune.components.documents import DocumentIndex
from ragtune.errors import InputError
from ragtune.store.base import CollectStats


@dataclass(frozen=True)
class GcReport:
    keep_days: float
    pinned_records: int  # answer records inside the window that name a store version
    stats: CollectStats
    home_bytes_before: int
    home_bytes_after: int

    def to_json(self) -> dict:
        return {"keep_days": self.keep_days, "pinned_records": self.pinned_records, **self.stats.to_json(),
                "home_bytes_before": self.home_bytes_before, "home_bytes_after": self.home_bytes_after}


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


def collect_garbage(documents: DocumentIndex, audit: AuditLog, keep_days: float) -> GcReport:
    """Delete store versions older than ``keep_days`` unless an answer recorded within ``keep_days`` saw them.
    Replay works for every record inside the window; a deleted document's text is gone once its last version
    outside the window is collected."""
    if keep_days < 0:
        raise InputError(f"--keep-days {keep_days}: must be >= 0")
    home = Path(documents.settings.home)
    before = folder_bytes(home)
    since = datetime.now(timezone.utc) - timedelta(days=keep_days)
    versions, records = audit.pinned_store_versions(since)
    stats = documents.collect(timedelta(days=keep_days), versions)
    return GcReport(keep_days, records, stats, before, folder_bytes(home))
