"""Global options shared by every command (set by the top-level callback)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class CliState:
    home: Path | None = None
    store: str | None = None  # --store: "lance" or a postgresql:// URL (default: $RAGTUNE_STORE, else lance)
    embedder_backend: str | None = None  # --embedder-backend (default: $RAGTUNE_EMBEDDER_BACKEND, else auto)

    def workspace(self):
        from ragtune.config import Settings
        from ragtune.workspace import Workspace

        given = {name: value for name, value in (("store", self.store), ("embedder_backend", self.embedder_backend))
                 if value}
        return Workspace(self.home, settings=Settings(**given) if given else None)


state = CliState()
