"""``ragtune diagnose``: is it knowledge (RAG), behaviour (fine-tune), both, or a better prompt?"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table
from rich.text import Text

from ragtune.cli import options
from ragtune.cli.render import console, print_json, progress_bar
from ragtune.cli.state import state


def register(app: typer.Typer) -> None:
    @app.command()
    def diagnose(
        qa: Path = options.EVAL_QA,
        corpus: Optional[Path] = options.EVAL_CORPUS,
        train: Optional[Path] = options.TRAIN,
        adapter: Optional[str] = options.ADAPTER,
        target: float = typer.Option(0.8, "--target", help="the score that counts as good enough"),
        shots: int = options.SHOTS,
        limit: Optional[int] = options.LIMIT,
        report: Optional[Path] = typer.Option(None, "--report", help="write a self-contained HTML report here"),
        prices: Optional[Path] = typer.Option(None, "--prices", help="price sheet for the report's cost section "
                                              "(default: HOME/prices.yaml when it exists)"),
        as_json: bool = options.JSON,
    ) -> None:
        """Run closed-book, few-shot, oracle, oracle+few-shot and retrieval, then give a verdict with evidence."""
        evaluation = state.workspace().evaluation
        with progress_bar(not as_json) as bar:
            diagnosis, runs, path = evaluation.diagnose(
                qa, corpus=corpus, train=train, adapter=adapter, target=target, shots=shots, limit=limit,
                report=report, prices=prices, on_item=lambda condition, done, total: bar(f"Running {condition}", done, total))
        if as_json:
            print_json({**diagnosis.to_json(), "runs": {c: r.run_id for c, r in runs.items()},
                        "report": str(path)})
            return
        table = Table(title="Conditions (primary score, 95% CI)")
        for name in ("condition", "score", "95% CI", "n"):
            table.add_column(name, justify="left" if name == "condition" else "right")
        for name, e in diagnosis.conditions.items():
            table.add_row(Text(name), f"{e.value:.3f}", f"[{e.ci95[0]:.3f}, {e.ci95[1]:.3f}]", str(e.n))
        console.print(table)
        headline = Text(f"Verdict: {diagnosis.verdict}", style="bold green")
        if diagnosis.inconclusive:
            more = f" — about {diagnosis.items_needed} items would settle it" if diagnosis.items_needed else ""
            headline.append(f" (inconclusive{more})", style="yellow")
        console.print(headline)
        for line in diagnosis.evidence:
            console.print(Text(f"• {line}"))
        console.print(Text("Failures: " + ", ".join(f"{k} {v}" for k, v in diagnosis.failures.items()), style="dim"))
        for rec in diagnosis.recommendations:
            console.print(Text(f"→ {rec}", style="cyan"))
        console.print(Text(f"{'report written to' if report else 'saved'} {path}", style="dim"))
