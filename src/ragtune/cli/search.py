"""``ragtune search``."""

from __future__ import annotations

from typing import List, Optional

import typer
from rich.text import Text

from ragtune.cli import options
from ragtune.cli.render import console, print_json
from ragtune.cli.state import state
from ragtune.retrieve.searcher import hit_to_json, validate_query
from ragtune.types import FUSION_METHODS, Filters, Hit

SNIPPET_CHARS = 240


def register(app: typer.Typer) -> None:
    @app.command()
    def search(
        query: str = typer.Argument(..., help="what to look for"),
        mode: str = typer.Option("hybrid", "--mode", help="hybrid | bm25 | dense"),
        k: int = typer.Option(10, "-k", "--top-k", help="how many results"),
        path_prefix: Optional[str] = typer.Option(None, "--path", help="only documents whose source path starts so"),
        where: Optional[List[str]] = typer.Option(None, "--where", help="metadata filter key=value (repeatable)"),
        as_json: bool = options.JSON,
    ) -> None:
        """Search the index; every hit carries its document id and character span."""
        validate_query(query, mode, k)  # fail on bad input before loading any model
        filters = Filters.parse(path_prefix, where)
        result = state.workspace().documents.search(query, mode=mode, k=k, filters=filters)  # type: ignore[arg-type]
        if as_json:
            print_json({
                "query": query, "mode": mode, "k": k, "store_version": result.store_version,
                "timings_ms": {name: round(ms, 2) for name, ms in result.timings_ms.items()},
                "results": [hit_to_json(hit) for hit in result.hits],
            })
            return
        if not result.hits:
            console.print("No results.")
            return
        for rank, hit in enumerate(result.hits, start=1):
            console.print(render_hit(rank, hit))


def render_hit(rank: int, hit: Hit) -> Text:
    """One hit as three lines: rank, source span and score breakdown; heading path; a snippet."""
    c = hit.chunk
    out = Text()
    out.append(f"{rank:>2}. ", style="bold")
    out.append(f"{c.doc_id} [{c.start}:{c.end}]", style="bold cyan")
    parts = [f"{name} {value:.3f}" + (f" #{hit.ranks[name]}" if name in hit.ranks else "")
             for name, value in hit.scores.items() if name not in FUSION_METHODS]
    out.append(f"  score {hit.score:.4f}" + (f" ({', '.join(parts)})" if parts else ""), style="dim")
    if c.heading_path:
        out.append("\n    " + " › ".join(c.heading_path), style="italic")
    snippet = " ".join(c.text.split())
    snippet = snippet if len(snippet) <= SNIPPET_CHARS else snippet[: SNIPPET_CHARS - 1] + "…"
    out.append("\n    " + snippet + "\n")
    return out
