"""User and model text in CLI tables is shown as text, never read as Rich markup: "[/b]" in a question used to
crash `audit list` (a closing tag with nothing open), and "[red]" silently restyled the rest of the cell."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ragtune.audit.log import AuditLog
from ragtune.cli.main import app
from ragtune.errors import RagtuneError
from ragtune.finetune.registry import AdapterRegistry

MARKUP = "why [/b] is [red]this[/red] [bold]"


def run(home: Path, *args: str) -> str:
    """The command's output; it must end normally or with a user error, never with a markup crash."""
    # wide, so whole cells show; CliRunner captures the console because Rich writes to sys.stdout at print time
    result = CliRunner().invoke(app, ["--home", str(home), *args], env={"COLUMNS": "240"})
    assert result.exit_code == 0 or isinstance(result.exception, RagtuneError), (result.output, result.exception)
    return result.output


def test_audit_list_shows_questions_and_answers_with_markup_as_typed(home: Path):
    log = AuditLog(home / "audit.sqlite")
    log.append("answer", {"question": MARKUP, "answer": "use [/i] and [link=x]y[/link]"})
    log.close()
    output = run(home, "audit", "list")
    assert MARKUP in output
    assert "use [/i] and [link=x]y[/link]" in output


def test_adapters_list_shows_a_base_model_name_with_markup_as_typed(home: Path, tmp_path: Path):
    folder = tmp_path / "trained"
    folder.mkdir()
    (folder / "adapter_config.json").write_text("{}")
    AdapterRegistry(home / "adapters").add("e2e", folder, base_model={"model": "default", "id": "[/b]odd[red]"},
                                           data={"n_train": 3}, hyperparameters={}, training={})
    assert "[/b]odd[red]" in run(home, "adapters", "list")


def test_finetune_check_shows_json_keys_from_the_data_as_typed(home: Path, tmp_path: Path):
    rows = [{"input": f"order {i} of widgets", "output": json.dumps({"[/b]key": i, "[red]": "x"})}
            for i in range(30)]
    train = tmp_path / "train.jsonl"
    train.write_text("\n".join(json.dumps(r) for r in rows))
    output = run(home, "finetune", "check", str(train), "--tokenizer", "none")  # too few examples: exit 2
    assert "[/b]key" in output and "[red]" in output
