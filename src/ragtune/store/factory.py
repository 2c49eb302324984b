"""The one place that knows which Store backend a setting names; ingest, search and replay ask here."""

from __future__ import annotations

from pathlib import Path

from ragtune.config import Settings
from ragtune.store.base import Store


def open_store(settings: Settings, embedder_id: str, dim: int, *, version: int | None = None) -> Store:
    """The configured store for ``settings.home``; ``version`` opens it read-only as it was then (replay)."""
    if settings.store == "lance":
        from ragtune.store.lance import LanceStore

        return LanceStore(Path(settings.home) / "lance", embedder_id, dim, version=version)
    raise AssertionError(f"unreachable: Settings validates store={settings.store!r}")
