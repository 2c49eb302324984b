"""``ragtune audit …``: list, show, verify and replay the tamper-evident log of every answer."""

from __future__ import annotations

import json

import typer
from rich.table import Table
from rich.text import Text

from ragtune.cli import options
from ragtune.cli.render import console, json_printed, print_json
from ragtune.cli.state import state

CHECK_FAILED = 3  # the command ran fine and found a problem (tampering, a replay that differs)

app = typer.Typer(help="Inspect, verify and replay the tamper-evident log of every answer.", no_args_is_help=True)


@app.command("list")
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
        # Text cells: a plain string cell is read as Rich markup, and a question holding "[/b]" would crash.
        table.add_row(str(r.seq), r.id, r.created, Text(str(r.body.get("question", ""))[:60]),
                      Text(str(r.body.get("answer", ""))[:60]))
    console.print(table)


@app.command("show")
def audit_show(
    record_id: str = options.RECORD_ID,
    as_json: bool = options.JSON,
) -> None:
    """Print one record in full."""
    record = state.workspace().audit.get(record_id)
    if not json_printed(as_json, record):
        console.print_json(json.dumps(record.to_json(), ensure_ascii=False))


@app.command("verify")
def audit_verify(as_json: bool = options.JSON) -> None:
    """Check the hash chain and audit.head; names the first bad record. Exit 3 when a problem is found, or when
    keyed records cannot be checked because RAGTUNE_AUDIT_KEY is not set."""
    result = state.workspace().audit.verify()
    if as_json:
        print_json(result.to_json())
    elif result.ok:
        keyed = f", {result.keyed} keyed and checked with RAGTUNE_AUDIT_KEY" if result.keyed else ""
        console.print(f"ok: {result.records} records, chain intact{keyed}")
    else:
        verdict = "CANNOT VERIFY" if result.unchecked else "TAMPERED"
        console.print(f"{verdict}: record {result.first_bad}: {result.reason}", style="bold red")
    if not result.ok:
        raise typer.Exit(CHECK_FAILED)


@app.command("seal")
def audit_seal(as_json: bool = options.JSON) -> None:
    """Start keyed records on a log written before RAGTUNE_AUDIT_KEY was set: checks the log, then appends a
    keyed record that vouches for every record before it. Only seal a log you trust as it stands."""
    record = state.workspace().audit.seal()
    if as_json:
        print_json({"id": record.id, "seq": record.seq, "sealed_records": record.body["sealed_records"],
                    "key_id": record.key_id})
    else:
        console.print(f"sealed: keyed record {record.id} vouches for the {record.body['sealed_records']} records "
                      "before it")


@app.command("replay")
def audit_replay(
    record_id: str = options.RECORD_ID,
    as_json: bool = options.JSON,
) -> None:
    """Re-run an answer against the store version it saw, with the same model and parameters."""
    result = state.workspace().answers.replay(record_id)
    if not json_printed(as_json, result):
        verdict = "identical" if result.identical else "DIFFERENT"
        console.print(f"{verdict}: model {'same' if result.same_model else 'changed'}, retrieval "
                      f"{'same' if result.same_retrieval else 'different'}, answer "
                      f"{'same' if result.same_answer else 'different'} (store version {result.store_version})")
        if not result.same_answer:
            console.print(Text(f"original: {result.original_answer}\nreplayed: {result.replayed_answer}"))
    if not result.identical:
        raise typer.Exit(CHECK_FAILED)
