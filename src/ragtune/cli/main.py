"""The ``ragtune`` command: parsing and printing only; every command calls the Python API.

Exit codes: 0 success, 2 user error (one line on stderr, no traceback), 1 internal error.
"""

from __future__ import annotations

import os
import sys
import warnings
from importlib import metadata
from pathlib import Path
from typing import Optional

import typer

from ragtune.cli import adapters as adapters_cmd
from ragtune.cli import ask as ask_cmd
from ragtune.cli import audit as audit_cmd
from ragtune.cli import cost as cost_cmd
from ragtune.cli import diagnose as diagnose_cmd
from ragtune.cli import eval as eval_cmd
from ragtune.cli import finetune as finetune_cmd
from ragtune.cli import ingest as ingest_cmd
from ragtune.cli import keys as keys_cmd
from ragtune.cli import maintenance as maintenance_cmd
from ragtune.cli import search as search_cmd
from ragtune.cli import serve as serve_cmd
from ragtune.cli import sources as sources_cmd
from ragtune.cli.render import err_console
from ragtune.cli.state import state
from ragtune.errors import RagtuneError
from ragtune.version import __version__

app = typer.Typer(
    name="ragtune",
    help="Decide between, and run, retrieval-augmented generation and fine-tuning — locally.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def installed_version() -> str:
    """The installed distribution's version; the package's own ``__version__`` when it is not installed."""
    try:
        return metadata.version("ragtune")
    except metadata.PackageNotFoundError:
        return __version__


def show_version(value: bool) -> None:
    if value:
        typer.echo(f"ragtune {installed_version()}")
        raise typer.Exit()


@app.callback()
def main(
    home: Optional[Path] = typer.Option(
        None, "--home", help="ragtune home folder (default: $RAGTUNE_HOME or ./.ragtune)", envvar="RAGTUNE_HOME"
    ),
    store: Optional[str] = typer.Option(
        None, "--store", help="where the index is: 'lance' (in the home folder) or a PostgreSQL URL "
        "postgresql://user@host:5432/db (default: $RAGTUNE_STORE, else lance; prefer the variable for a URL with a "
        "password)", show_default=False,
    ),
    embedder_backend: Optional[str] = typer.Option(
        None, "--embedder-backend", help="how the embedder runs: auto, torch, onnx or onnx-int8 (default: "
        "$RAGTUNE_EMBEDDER_BACKEND, else auto); an existing index keeps the vectors it was built with",
        show_default=False,
    ),
    version: bool = typer.Option(
        False, "--version", callback=show_version, is_eager=True, help="print the version and exit"
    ),
) -> None:
    state.home = home
    state.store = store
    state.embedder_backend = embedder_backend


ingest_cmd.register(app)
search_cmd.register(app)
maintenance_cmd.register(app)
ask_cmd.register(app)
diagnose_cmd.register(app)
cost_cmd.register(app)
serve_cmd.register(app)
app.add_typer(eval_cmd.app, name="eval")
app.add_typer(finetune_cmd.app, name="finetune")
app.add_typer(adapters_cmd.app, name="adapters")
app.add_typer(audit_cmd.app, name="audit")
app.add_typer(sources_cmd.app, name="sources")
app.add_typer(keys_cmd.app, name="keys")


def run() -> None:
    # deprecation notices from transformers/peft internals are for their developers, not ragtune's users
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"(transformers|peft)(\.|$)")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        app()
    except RagtuneError as exc:
        err_console.print(f"ragtune: error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("ragtune: interrupted", markup=False)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 — the last line of defence: report, don't dump a traceback
        if os.environ.get("RAGTUNE_DEBUG"):
            raise
        err_console.print(
            f"ragtune: internal error: {type(exc).__name__}: {exc} (set RAGTUNE_DEBUG=1 for a traceback)",
            markup=False, highlight=False, soft_wrap=True,
        )
        sys.exit(1)


if __name__ == "__main__":
    run()
