"""Global options shared by every command (set by the top-level callback)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class CliState:
    home: Path | None = None

    def workspace(self):
        from ragtune.workspace import Workspace

        return Workspace(self.home)


state = CliState()
