"""``ragtune gc``: collect old store versions (keeping the ones audit records inside the window pin)."""

from __future__ import annotations

from typing import Optional

import typer
from rich.text import Text

from ragtune.cli import options
from ragtune.cli.render import console, json_printed
from ragtune.cli.state import state


def register(app: typer.Typer) -> None:
    @app.command()
    def gc(
        keep_days: Optional[float] = typer.Option(None, "--keep-days",
                                                  help="retention window in days (default: 30, the setting)"),
        as_json: bool = options.JSON,
    ) -> None:
        """Compact the index and delete store versions older than the window, except those an answer recorded
        inside the window saw (so replay keeps working there). Collected versions' text is gone for good."""
        report = state.workspace().gc(keep_days)
        if json_printed(as_json, report):
            return
        s = report.stats
        console.print(Text(f"removed {s.versions_removed} old versions ({s.bytes_removed / 1e6:.1f} MB); kept "
                           f"{len(s.versions_kept)} pinned by {report.pinned_records} answers in the last "
                           f"{report.keep_days:g} days; home {report.home_bytes_before / 1e6:.1f} MB → "
                           f"{report.home_bytes_after / 1e6:.1f} MB"))
