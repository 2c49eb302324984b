"""``ragtune ask`` and ``ragtune audit …``."""

from __future__ import annotations

import json
from typing import List, Optional

import typer
from rich.table import Table
from rich.text import Text

from ragtune.cli import options
from ragtune.cli.render import console, err_console, print_json
from ragtune.cli.state import state
from ragtune.errors import InputError
from ragtune.types import Filters

CHECK_FAILED = 3  # the command ran fine and found a problem (tampering, a replay that differs)

audit_app = typer.Typer(help="Inspect, verify and replay the tamper-evident log of every answer.",
                        no_args_is_help=True)


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
        streamed: list[str] = []

        def show(piece: str) -> None:
            if not streamed:
                err_console.print("[dim]model:[/dim] ", end="")
            streamed.append(piece)
            err_console.print(piece, end="", markup=False, highlight=False, style="dim")

        answer = answers.ask(question, k=k, retrieval=not no_retrieval, adapter=adapter, filters=filters,
                           on_token=None if as_json else show, source="cli")
        if streamed:
            err_console.print()
        if as_json:
            print_json(answer.to_json())
            return
        style = "yellow" if answer.abstained else "bold"
        console.print(Text(answer.answer, style=style))
        if answer.abstained:
            console.print(Text(f"(abstained: {answer.abstain_reason})", style="dim"))
        for c in answer.citations:
            line = Text(f"[{c.n}] ", style="bold cyan")
            line.append(f"{c.doc_id} [{c.start}:{c.end}]", style="cyan")
            line.append(f" “{c.quote}”" + (" (inferred)" if c.inferred else ""))
            console.print(line)
        console.print(Text(f"audit id {answer.audit_id}", style="dim"))

    app.add_typer(audit_app, name="audit")


@audit_app.command("list")
def audit_list(
    limit: int = typer.Option(20, "--limit", "-n", help="newest N records"),
    as_json: bool = options.JSON,
) -> None:
    """List the newest records."""
    records = state.workspace().audit.list(limit)
    if as_json:
        print_json({"records": [{"id": r.id, "seq": r.seq, "created": r.created, "kind": r.kind,
                                 "question": r.body.get("question"), "answer": r.body.get("answer"),
                                 "abstained": r.body.get("abstained")} for r in records]})
        return
    table = Table("seq", "id", "created", "question", "answer")
    for r in records:
        table.add_row(str(r.seq), r.id, r.created, str(r.body.get("question", ""))[:60],
                      str(r.body.get("answer", ""))[:60])
    console.print(table)


@audit_app.command("show")
def audit_show(
    record_id: str = options.RECORD_ID,
    as_json: bool = options.JSON,
) -> None:
    """Print one record in full."""
    record = state.workspace().audit.get(record_id)
    if as_json:
        print_json(record.to_json())
    else:
        console.print_json(json.dumps(record.to_json(), ensure_ascii=False))


@audit_app.command("verify")
def audit_verify(as_json: bool = options.JSON) -> None:
    """Check the hash chain; names the first bad record. Exit 3 when tampering is found."""
    result = state.workspace().audit.verify()
    if as_json:
        print_json(result.to_json())
    elif result.ok:
        console.print(f"ok: {result.records} records, chain intact")
    else:
        console.print(f"TAMPERED: first bad record {result.first_bad}: {result.reason}", style="bold red")
    if not result.ok:
        raise typer.Exit(CHECK_FAILED)


@audit_app.command("replay")
def audit_replay(
    record_id: str = options.RECORD_ID,
    as_json: bool = options.JSON,
) -> None:
    """Re-run an answer against the store version it saw, with the same model and parameters."""
    result = state.workspace().answers.replay(record_id)
    if as_json:
        print_json(result.to_json())
    else:
        verdict = "identical" if result.identical else "DIFFERENT"
        console.print(f"{verdict}: model {'same' if result.same_model else 'changed'}, retrieval "
                      f"{'same' if result.same_retrieval else 'different'}, answer "
                      f"{'same' if result.same_answer else 'different'} (store version {result.store_version})")
        if not result.same_answer:
            console.print(Text(f"original: {result.original_answer}\nreplayed: {result.replayed_answer}"))
    if not result.identical:
        raise typer.Exit(CHECK_FAILED)
