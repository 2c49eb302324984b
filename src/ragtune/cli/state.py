"""Global options shared by every command (set by the top-level callback)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class CliState:
    home: Path | None = None
    store: str | None = None  # --store: "lance" or a postgresql:// URL (default: $RAGTUNE_STORE, else lance)

    def workspace(self):
        from ragtune.config import Settings
        from ragtune.workspace import Workspace

        return Workspace(self.home, settings=Settings(store=self.store) if self.store else None)


state = CliState()
