"""``ragtune adapters …``: the versioned adapter registry (list, show, promote, rollback, status, export)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table
from rich.text import Text

from ragtune.cli import options
from ragtune.cli.render import console, print_json
from ragtune.cli.state import state

app = typer.Typer(help="Trained LoRA adapters: versions, promotion, rollback, staleness.", no_args_is_help=True)


def _registry():
    return state.workspace().registry


def _score(record, condition: str) -> str:
    metrics = ((record.metrics.get("eval") or {}).get("conditions") or {}).get(condition, {}).get("metrics", {})
    for name in ("field_accuracy", "exact_match"):
        if name in metrics:
            return f"{metrics[name]['value']:.3f}"
    return "-"


@app.command("list")
def list_(as_json: bool = options.JSON) -> None:
    """Every adapter version, newest last; the promoted one is marked."""
    registry = _registry()
    promoted = registry.promoted()
    records = registry.list()
    if as_json:
        print_json({"adapters": [r.to_json(promoted=bool(promoted and r.id == promoted.id)) for r in records],
                    "promoted": promoted.id if promoted else None})
        return
    table = Table(title="Adapters (score = field accuracy, or exact match, on the held-out eval)")
    for column in ("id", "created", "base", "train n", "few-shot", "adapter", "promoted"):
        table.add_column(column, no_wrap=column in ("id", "created"))
    for r in records:
        # Text cells: a string cell is read as Rich markup, and ids and model names are not ours to trust.
        table.add_row(Text(r.id), r.created[:16].replace("T", " "), Text(str(r.base_model.get("id", "?"))),
                      Text(str(r.data.get("n_train", "?"))),
                      _score(r, "few_shot"), _score(r, "adapter"), "●" if promoted and r.id == promoted.id else "")
    console.print(table)


@app.command("show")
def show(adapter_id: str = typer.Argument(..., help="adapter id, e.g. e2e-v1"), as_json: bool = options.JSON) -> None:
    """All metadata of one adapter: base model, data, hyperparameters, training, corpus snapshot, metrics."""
    registry = _registry()
    record = registry.get(adapter_id)
    promoted = registry.promoted()
    data = record.to_json(promoted=bool(promoted and promoted.id == record.id))
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        console.print(Text(f"{key}: ", style="bold"), Text(str(value)))


@app.command("promote")
def promote(adapter_id: str = typer.Argument(..., help="adapter id"),
            force: bool = typer.Option(False, "--force", help="promote even if it does not beat base few-shot"),
            as_json: bool = options.JSON) -> None:
    """Make this adapter the default for ask, diagnose and serving (refused unless it beats base few-shot)."""
    record = _registry().promote(adapter_id, force=force)
    if as_json:
        print_json({"promoted": record.id})
        return
    console.print(Text(f"promoted {record.id}"))


@app.command("rollback")
def rollback(as_json: bool = options.JSON) -> None:
    """Go back to the previously promoted adapter (or to the base model when there was none)."""
    record = _registry().rollback()
    if as_json:
        print_json({"promoted": record.id if record else None})
        return
    console.print(Text(f"promoted {record.id}" if record else "no adapter promoted: the base model answers"))


@app.command("status")
def status(adapter_id: Optional[str] = typer.Argument(None, help="adapter id (default: the promoted one)"),
           as_json: bool = options.JSON) -> None:
    """Is the adapter stale? Corpus changes and eval drop since training, against documented thresholds."""
    result = state.workspace().tuning.adapter_status(adapter_id)
    data = result.to_json()
    if as_json:
        print_json(data)
        return
    corpus = data["corpus"]
    if corpus is None:
        console.print("corpus: no corpus was indexed when this adapter was trained")
    else:
        console.print(f"corpus: {corpus['changed']} changed, {corpus['removed']} removed, {corpus['added']} added "
                      f"of {corpus['snapshot_documents']} documents at training time ({corpus['share']:.0%})")
    if data["eval"] is None:
        console.print("eval: no later evaluation of this adapter to compare (run `ragtune eval answers "
                      "--condition adapter`)")
    else:
        e = data["eval"]
        console.print(Text(f"eval: {e['metric']} {e['recorded']:.3f} at training → {e['latest']:.3f} in "
                           f"{e['latest_run']}"))
    verdict = Text("retrain recommended" if result.retrain else "up to date",
                   style="bold yellow" if result.retrain else "bold green")
    console.print(verdict)
    for reason in result.reasons:
        console.print(Text(f"• {reason}"))


@app.command("export")
def export(adapter_id: str = typer.Argument(..., help="adapter id"),
           merged: Path = typer.Option(..., "--merged", help="write base + adapter merged into this new folder"),
           as_json: bool = options.JSON) -> None:
    """Export a merged transformers folder (base weights with the adapter folded in)."""
    from ragtune.finetune.export import export_merged
    from ragtune.finetune.pipeline import base_model_dir

    record = _registry().get(adapter_id)
    model_dir, _ = base_model_dir(record.base_model["model"])
    out = export_merged(record, model_dir, merged)
    if as_json:
        print_json({"id": record.id, "merged": str(out)})
        return
    console.print(Text(f"wrote {out}"))
