"""``ragtune sources``: what was ingested from where; ``ragtune sources remove NAME``."""

from __future__ import annotations

import typer
from rich.table import Table
from rich.text import Text

from ragtune.cli import options
from ragtune.cli.render import console, print_json
from ragtune.cli.state import state

app = typer.Typer(help="Named sources (folders, files, corpus files) and their documents.",
                  invoke_without_command=True)


@app.callback()
def sources(ctx: typer.Context, as_json: bool = options.JSON) -> None:
    """List every source: its root, how many documents and chunks it holds, when it was last synced."""
    if ctx.invoked_subcommand is not None:
        return
    listed = state.workspace().documents.sources()
    if as_json:
        print_json({"sources": [s.to_json() for s in listed]})
        return
    table = Table("name", "kind", "root", "documents", "chunks", "last sync")
    for s in listed:
        table.add_row(Text(s.source.name), s.source.kind, Text(s.source.root), str(s.documents), str(s.chunks),
                      s.source.synced)
    console.print(table if listed else "No sources yet: `ragtune ingest PATH` adds one.")


@app.command("remove")
def remove(name: str = typer.Argument(..., help="the source's name (see `ragtune sources`)"),
           as_json: bool = options.JSON) -> None:
    """Delete a source and every document that came from it."""
    removed = state.workspace().documents.remove_source(name)
    if as_json:
        print_json({"source": name, "removed": removed})
    else:
        console.print(Text(f"removed source {name} ({removed} documents)"))
