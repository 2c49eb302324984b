"""Console output: JSON on stdout for machines, Rich for people, progress and errors on stderr."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from typing import Callable, Iterator

from rich.console import Console
from rich.live import Live
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

console = Console()
err_console = Console(stderr=True)


def print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def json_printed(as_json: bool, result) -> bool:
    """With ``--json``, print ``result.to_json()`` on stdout (and nothing else) and say so; the caller then
    returns instead of rendering for people."""
    if as_json:
        print_json(result.to_json())
    return as_json


@contextmanager
def progress_bar(enabled: bool) -> Iterator:
    """Yields a callback(phase, done, total, detail=None) that drives a Rich progress bar on stderr, one bar per
    phase, ``detail`` shown beside it (a no-op when disabled)."""
    if not enabled:
        yield lambda *_: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        tasks: dict[str, int] = {}

        def update(phase: str, done: int, total: int, detail: str | None = None) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(phase, total=total)
            description = f"{phase} ({detail})" if detail else phase
            progress.update(tasks[phase], completed=done, total=total, description=description)

        yield update


@contextmanager
def live_draft(out: Console, enabled: bool = True) -> Iterator[Callable[[str], None] | None]:
    """Yields a token callback that shows the model's reply, dim, as it is written — or None when disabled or when
    ``out`` is not a terminal (then nothing streams: a pipe or a file gets only the final answer).

    The draft is transient: it is erased when the block ends, so what stays on screen is the final answer the
    caller prints next (citation markers stripped, or the abstention that replaced an unsupported reply)."""
    if not (enabled and out.is_terminal):
        yield None
        return
    draft = Text(style="dim")
    with Live(draft, console=out, transient=True, auto_refresh=False) as live:

        def show(piece: str) -> None:
            draft.append(piece)
            live.update(draft, refresh=True)

        yield show
