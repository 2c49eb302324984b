"""``ragtune ingest`` and ``ragtune sync``."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, List, Optional

import typer
from rich.table import Table
from rich.text import Text

from ragtune.cli import options
from ragtune.cli.render import console, err_console, json_printed, progress_bar
from ragtune.cli.state import state
from ragtune.errors import InputError
from ragtune.ingest.pipeline import IngestReport, Progress

_PHASES = {"scan": "Checking for changes", "parse": "Parsing and chunking", "embed": "Embedding chunks"}


def _groups(value: str | None) -> list[str]:
    groups = [g.strip() for g in (value or "").split(",") if g.strip()]
    for g in groups:
        if not g.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise InputError(f"--groups: group {g!r} may only hold letters, digits, '-', '_' and '.'")
    return groups


def _run_with_progress(run: Callable[[Callable[[Progress], None]], IngestReport], as_json: bool) -> None:
    with progress_bar(not as_json) as bar:
        report = run(lambda p: bar(_PHASES[p.phase], p.done, p.total))
    _finish(report, as_json)


def _finish(report: IngestReport, as_json: bool) -> None:
    nothing_ok = not (report.added or report.updated or report.unchanged or report.removed)
    level = "error" if nothing_ok else "warning"  # a run where every input failed is an error, else a warning
    for failure in report.failed:
        err_console.print(f"ragtune: {level}: {failure.message}", markup=False, highlight=False, soft_wrap=True)
    if not json_printed(as_json, report):
        table = Table(show_header=True, header_style="bold")
        for name in ("added", "updated", "removed", "unchanged", "failed", "chunks", "seconds"):
            table.add_column(name, justify="right")
        table.add_row(str(report.added), str(report.updated), str(report.removed), str(report.unchanged),
                      str(len(report.failed)), str(report.chunks), f"{report.seconds:.1f}")
        console.print(table)
    if report.failed and nothing_ok:
        raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    @app.command()
    def ingest(
        paths: List[Path] = typer.Argument(..., help="files, folders (recursive) or corpus .jsonl files"),
        source: Optional[str] = options.SOURCE,
        groups: Optional[str] = options.GROUPS,
        as_json: bool = options.JSON,
    ) -> None:
        """Add new documents and re-index changed ones; unchanged ones are skipped by content hash."""
        documents = state.workspace().documents
        _run_with_progress(lambda progress: documents.ingest(paths, source=source, groups=_groups(groups) if groups is not None else None,
                                                             on_progress=progress), as_json)

    @app.command()
    def sync(
        directory: Path = typer.Argument(..., help="the folder (or corpus file) its source should mirror"),
        source: Optional[str] = options.SOURCE,
        groups: Optional[str] = options.GROUPS,
        as_json: bool = options.JSON,
    ) -> None:
        """Make DIRECTORY's source mirror it: add new files, re-index changed ones, remove deleted ones; other
        sources are untouched."""
        documents = state.workspace().documents
        _run_with_progress(lambda progress: documents.sync(directory, source=source, groups=_groups(groups) if groups is not None else None,
                                                           on_progress=progress), as_json)

    @app.command()
    def status(as_json: bool = options.JSON) -> None:
        """Show what the index holds."""
        info = state.workspace().documents.status()
        if json_printed(as_json, info):
            return
        table = Table(show_header=False)
        for key, value in info.to_json().items():
            table.add_row(key, Text(str(value)))  # the home path and embedder name are not markup
        console.print(table)

