"""``ragtune serve``: the HTTP API and web UI over this home (see docs/api.md)."""

from __future__ import annotations

import typer

from ragtune.cli.render import err_console
from ragtune.cli.state import state


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", "--host", help="address to listen on (non-loopback needs a key)"),
        port: int = typer.Option(8321, "--port", help="TCP port"),
        workers: int = typer.Option(1, "--workers", help="worker processes (each loads the models on first use)"),
    ) -> None:
        """Serve the OpenAI-compatible API, search, documents, audit and the web UI; every call needs an API key
        (`ragtune keys create`)."""
        from ragtune.api.server import check_can_serve
        from ragtune.api.server import serve as run_server
        from ragtune.config import resolve_home

        home = resolve_home(state.home)
        keys = check_can_serve(home, host, port, workers)
        if keys == 0:
            err_console.print("ragtune: warning: no API keys yet, so every call will be refused: "
                              "`ragtune keys create --admin` makes one", markup=False, highlight=False)
        err_console.print(f"serving {home} on http://{host}:{port}/ ({workers} worker{'s' * (workers > 1)}, "
                          f"{keys} key{'s' * (keys != 1)})", markup=False, highlight=False)
        run_server(home, host, port, workers)
