"""``ragtune cost``: monthly cost and cost per 1,000 queries of prompt-only, RAG, fine-tune and RAG + fine-tune at
a volume, the break-even volumes between them, and which inputs were measured, given or missing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table
from rich.text import Text

from ragtune.cli import options
from ragtune.cli.render import console, json_printed
from ragtune.cli.state import state
from ragtune.economics.model import LABEL
from ragtune.errors import InputError

_VOLUME = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(?:/\s*(?:day|d))?\s*")
_SWEEP = re.compile(r"\s*(\d+(?:\.\d+)?)\s*\.\.\s*(\d+(?:\.\d+)?)\s*(?:/\s*(?:day|d))?\s*")


def parse_volume(text: str) -> float:
    match = _VOLUME.fullmatch(text)
    if match is None:
        raise InputError(f"--volume {text!r}: expected queries a day such as 500 or 500/day")
    return float(match.group(1))


def parse_sweep(text: str) -> tuple[float, float]:
    match = _SWEEP.fullmatch(text)
    if match is None:
        raise InputError(f"--sweep {text!r}: expected a range of queries a day such as 10..100000")
    low, high = float(match.group(1)), float(match.group(2))
    if high <= low:
        raise InputError(f"--sweep {text!r}: the end must be above the start")
    return low, high


def _money(value: float | None, currency: str) -> str:
    if value is None:
        return "unknown"
    return f"{value:,.2f} {currency}" if value >= 0.01 or value == 0 else f"{value:.6f} {currency}"


def register(app: typer.Typer) -> None:
    @app.command()
    def cost(
        volume: Optional[str] = typer.Option(None, "--volume", help="queries a day, e.g. 500 or 500/day (default: "
                                             "the price sheet's given queries_per_day, else the audit log's rate)"),
        sweep: Optional[str] = typer.Option(None, "--sweep", help="a range of queries a day, e.g. 10..100000: "
                                            "a table of monthly costs across it"),
        prices: Optional[Path] = typer.Option(None, "--prices", help="price sheet YAML (default: HOME/prices.yaml; "
                                              "start from examples/prices.yaml)"),
        as_json: bool = options.JSON,
    ) -> None:
        """What prompt-only, RAG, fine-tuning and RAG + fine-tuning cost at your volume, from the tokens and times
        this home measured (audit log, eval runs, adapter registry, index history) and your price sheet."""
        at = parse_volume(volume) if volume is not None else None
        span = parse_sweep(sweep) if sweep is not None else None
        result = state.workspace().economics.estimate(prices, volume=at, sweep=span)
        if json_printed(as_json, result):
            return
        cur = result.currency
        console.print(Text(result.recommendation, style="bold green"))
        heading = (f"Cost at {result.volume:,.0f} queries/day ({result.volume_from.status})" if result.volume
                   is not None else "Cost per option (no volume measured or given: pass --volume)")
        table = Table(title=heading)
        for name in ("option", "a month", "per 1,000 queries", "per query", "fixed a month", "one-off", "unknown"):
            table.add_column(name, justify="left" if name in ("option", "unknown") else "right")
        for name, c in result.options.items():
            at_ = result.volume
            table.add_row(LABEL[name], _money(c.monthly(at_) if at_ is not None else None, cur),
                          _money(c.per_1k(at_) if at_ is not None else None, cur), _money(c.per_query, cur),
                          _money(c.fixed_per_month, cur), _money(c.one_off, cur),
                          f"{len(c.unknown)} inputs" if c.unknown else "")
        console.print(table)
        for b in result.break_evens:
            console.print(Text(f"break-even: {LABEL[b.below]} is cheaper below {b.volume:,.0f} queries/day, "
                               f"{LABEL[b.above]} above"))
        if span is not None:
            rows = Table(title="Monthly cost across the sweep")
            rows.add_column("queries/day", justify="right")
            for name in result.options:
                rows.add_column(LABEL[name], justify="right")
            for v in result.sweep:
                rows.add_row(f"{v:,.0f}", *(_money(c.monthly(v), cur) for c in result.options.values()))
            console.print(rows)
        inputs = Table(title="Inputs")
        for name in ("input", "status", "value", "from"):
            inputs.add_column(name)
        for name, p in result.provenance.items():
            inputs.add_row(name, p.status, "—" if p.value is None else f"{p.value:.4g}", Text(p.detail))
        console.print(inputs)
        for line in result.missing:
            console.print(Text(f"missing: {line}", style="yellow"))
