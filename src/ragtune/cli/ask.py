"""``ragtune ask``."""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional

import typer
from rich.text import Text

from ragtune.cli import options
from ragtune.cli.render import console, json_printed, live_draft
from ragtune.cli.state import state
from ragtune.errors import InputError
from ragtune.types import Filters

if TYPE_CHECKING:
    from ragtune.generate.answer import Answer


def register(app: typer.Typer) -> None:
    @app.command()
    def ask(
        question: str = typer.Argument(..., help="the question"),
        no_retrieval: bool = typer.Option(False, "--no-retrieval", help="closed-book: the same model, no sources"),
        adapter: Optional[str] = options.ADAPTER,
        k: Optional[int] = typer.Option(None, "-k", "--top-k", help="how many sources to put in the prompt"),
        path_prefix: Optional[str] = typer.Option(None, "--path", help="only sources whose path starts so"),
        where: Optional[List[str]] = typer.Option(None, "--where", help="metadata filter key=value (repeatable)"),
        as_json: bool = options.JSON,
    ) -> None:
        """Answer from your documents with verified, character-level citations (or abstain)."""
        if not question.strip():
            raise InputError("question is empty: ask something")
        if k is not None and k < 1:
            raise InputError(f"k={k}: must be at least 1")
        filters = Filters.parse(path_prefix, where)
        answers = state.workspace().answers
        with live_draft(console, enabled=not as_json) as on_token:
            answer = answers.ask(question, k=k, retrieval=not no_retrieval, adapter=adapter, filters=filters,
                                 on_token=on_token, source="cli")
        if not json_printed(as_json, answer):
            print_answer(answer)


def print_answer(answer: Answer) -> None:
    """The one answer, then its citations and the audit id."""
    console.print(Text(answer.answer, style="yellow" if answer.abstained else "bold"))
    if answer.abstained:
        console.print(Text(f"(abstained: {answer.abstain_reason})", style="dim"))
    for c in answer.citations:
        line = Text(f"[{c.n}] ", style="bold cyan")
        line.append(f"{c.doc_id} [{c.start}:{c.end}]", style="cyan")
        line.append(f" “{c.quote}”" + (" (inferred)" if c.inferred else ""))
        console.print(line)
    console.print(Text(f"audit id {answer.audit_id}", style="dim"))
