"""``ragtune eval …``: evaluation commands."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ragtune.cli import options
from ragtune.cli.render import console, json_printed, print_json, progress_bar
from ragtune.cli.state import state

app = typer.Typer(help="Evaluate retrieval and answers on your own eval sets.", no_args_is_help=True)


@app.command("retrieval")
def retrieval(
    corpus: Path = typer.Option(..., "--corpus", help="corpus .jsonl (or a folder) to index in a temporary home"),
    qa: Path = typer.Option(..., "--qa", help="QA .jsonl with gold_doc_ids"),
    as_json: bool = options.JSON,
) -> None:
    """Recall@1/5/10, MRR, nDCG@10 and p50 latency for bm25, dense and hybrid search."""
    with progress_bar(not as_json) as bar:
        result = state.workspace().evaluation.retrieval(
            corpus, qa,
            on_ingest_progress=lambda p: bar({"scan": "Reading corpus", "parse": "Chunking corpus",
                                              "embed": "Embedding corpus"}[p.phase], p.done, p.total),
            on_query=lambda done, total: bar("Searching", done, total),
        )
    data = result.to_json()
    if as_json:
        print_json(data)
        return
    table = Table(title=f"Retrieval on {result.evaluated} questions ({result.skipped_no_gold} without gold skipped)")
    metrics = ["recall@1", "recall@5", "recall@10", "mrr", "ndcg@10", "p50_ms"]
    table.add_column("mode")
    for m in metrics:
        table.add_column(m, justify="right")
    for mode, scores in data["modes"].items():
        table.add_row(mode, *(f"{scores[m]:.3f}" if m != "p50_ms" else f"{scores[m]:.1f}" for m in metrics))
    console.print(table)


@app.command("answers")
def answers(
    qa: Path = options.EVAL_QA,
    corpus: Optional[Path] = options.EVAL_CORPUS,
    condition: str = typer.Option("retrieval", "--condition",
                                  help="closed_book | oracle | retrieval | few_shot | oracle+few_shot | adapter | "
                                       "adapter+retrieval"),
    train: Optional[Path] = options.TRAIN,
    adapter: Optional[str] = options.ADAPTER,
    shots: int = options.SHOTS,
    limit: Optional[int] = options.LIMIT,
    as_json: bool = options.JSON,
) -> None:
    """Score the model on an eval set under one condition (95% bootstrap CIs; resumable)."""
    evaluation = state.workspace().evaluation
    with progress_bar(not as_json) as bar:
        run = evaluation.evaluate(qa, condition=condition, corpus=corpus, train=train, adapter=adapter, shots=shots,
                             limit=limit, on_item=lambda done, total: bar(f"Evaluating ({condition})", done, total))
    if json_printed(as_json, run):
        return
    table = Table(title=escape(f"{condition}: {len(run.items)} items (run {run.run_id})"))
    for name in ("metric", "value", "95% CI", "n"):
        table.add_column(name, justify="left" if name == "metric" else "right")
    for name, m in run.metrics.items():
        table.add_row(name, f"{m.value:.3f}", f"[{m.ci95[0]:.3f}, {m.ci95[1]:.3f}]", str(m.n))
    console.print(table)
    errors = sum(1 for i in run.items if i.error)
    if errors:
        console.print(Text(f"{errors} items failed to run (see {run.run_dir / 'items.jsonl'})",
                           style="yellow"))
