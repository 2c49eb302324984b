"""The one place that knows which Store backend a setting names; ingest, search and replay ask here."""

from __future__ import annotations

import json
from pathlib import Path

from ragtune.config import Settings, store_backend
from ragtune.store.base import Store


def open_store(settings: Settings, embedder_id: str, dim: int, *, version: int | None = None) -> Store:
    """The configured store (``settings.store``: ``lance`` in ``settings.home``, or a ``postgresql://`` URL);
    ``version`` opens it read-only as it was then (replay)."""
    backend = store_backend(settings.store)
    if backend == "lance":
        from ragtune.store.lance import LanceStore

        return LanceStore(Path(settings.home) / "lance", embedder_id, dim, version=version)
    if backend == "postgresql":
        from ragtune.store.postgres import PostgresStore

        return PostgresStore(settings.store, embedder_id, dim, namespace=settings.store_namespace, version=version)
    raise AssertionError(f"unreachable: Settings validates store={settings.store!r}")


def recorded_embedder(settings: Settings) -> str | None:
    """The embedder id the configured index was built with (its manifest), None when there is no index yet;
    read without opening the store, so the embedder can be chosen before it is."""
    backend = store_backend(settings.store)
    if backend == "lance":
        manifest = Path(settings.home) / "lance" / "ragtune.json"
        try:
            return json.loads(manifest.read_text()).get("embedder") if manifest.is_file() else None
        except (OSError, ValueError):
            return None  # opening the store reports an unreadable manifest with what to do
    from ragtune.store.postgres import recorded_embedder as postgres_embedder

    return postgres_embedder(settings.store, settings.store_namespace)
