"""``ragtune keys …``: create, list and revoke the API keys ``ragtune serve`` accepts."""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table
from rich.text import Text

from ragtune.cli import options
from ragtune.cli.render import console, err_console, json_printed, print_json
from ragtune.cli.state import state

app = typer.Typer(help="Create, list and revoke API keys for `ragtune serve`.", no_args_is_help=True)


@app.command("create")
def keys_create(
    groups: Optional[str] = typer.Option(None, "--groups", help="comma-separated access groups the key holds"),
    admin: bool = typer.Option(False, "--admin", help="the key sees every document and may administer"),
    name: Optional[str] = typer.Option(None, "--name", help="a label for people (default: the key id)"),
    as_json: bool = options.JSON,
) -> None:
    """Create a key; the key itself is printed once and never stored (only a hash of it)."""
    created = state.workspace().keys.create(groups or "", admin=admin, name=name)
    if json_printed(as_json, created):
        return
    key = created.api_key
    console.print(Text(f"id      {key.id}\nkey     {created.key}\ngroups  {','.join(key.groups) or '-'}"
                       f"{'  (admin)' if key.admin else ''}"))
    err_console.print("Store the key now: it is not shown again.", style="dim")


@app.command("list")
def keys_list(as_json: bool = options.JSON) -> None:
    """List keys (ids, names, groups — never the keys themselves)."""
    keys = state.workspace().keys.list()
    if as_json:
        print_json({"keys": [k.to_json() for k in keys]})
        return
    table = Table("id", "name", "groups", "admin", "created", "revoked")
    for k in keys:
        table.add_row(k.id, Text(k.name), Text(",".join(k.groups)), "yes" if k.admin else "",
                      k.created, k.revoked or "")
    console.print(table)


@app.command("revoke")
def keys_revoke(key_id: str = typer.Argument(..., help="the key id (from `ragtune keys list`)"),
                as_json: bool = options.JSON) -> None:
    """Stop a key working (from the server's next request on)."""
    key = state.workspace().keys.revoke(key_id)
    if not json_printed(as_json, key):
        console.print(f"revoked {key.id} ({key.revoked})")
