"""What `ragtune ask` shows a person: one answer, then its citations — in a pipe and on a terminal — and
`ragtune --version`. In-process with typer's CliRunner and the fake models (fast)."""

from __future__ import annotations

import json
import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from rich.console import Console
from tests.conftest import REPO, write
from typer.testing import CliRunner

import ragtune
from ragtune import Workspace
from ragtune.cli import ask as ask_module
from ragtune.cli.main import app
from ragtune.cli.state import CliState
from ragtune.testing import FakeEmbedder, FakeGenerators

MEMO = "# Project Heron\n\nProject Heron ships on 14 March. The budget owner is Dana Okafor.\n"
QUESTION = "Who is the budget owner of Project Heron?"
ANSWER = "The budget owner is Dana Okafor."  # the fake model's reply, "… Okafor. [1]", without its marker


@pytest.fixture
def fake_home(home: Path, tmp_path: Path, monkeypatch) -> Path:
    def workspace(self) -> Workspace:
        return Workspace(home, embedder=FakeEmbedder(), generators=FakeGenerators())

    monkeypatch.setattr(CliState, "workspace", workspace)
    workspace(None).documents.ingest([write(tmp_path / "docs" / "heron.md", MEMO)])
    return home


def screen(raw: str) -> str:
    """What a terminal shows after ``raw``: text, newlines, carriage returns, cursor-up and erase-line (the
    controls Rich's Live uses); colours and cursor visibility are ignored."""
    lines, row, col = [""], 0, 0
    for token in re.findall(r"\x1b\[[0-9;?]*[A-Za-z]|\r|\n|[^\x1b\r\n]+", raw):
        if token == "\n":
            row, col = row + 1, 0
            lines.extend([""] * (row + 1 - len(lines)))
        elif token == "\r":
            col = 0
        elif token.startswith("\x1b["):
            if token.endswith("A"):
                row = max(0, row - int(token[2:-1] or 1))
            elif token == "\x1b[2K":
                lines[row] = ""
        else:
            line = lines[row].ljust(col)
            lines[row] = line[:col] + token + line[col + len(token):]
            col += len(token)
    return "\n".join(lines).strip("\n")


def assert_one_answer_then_citations(shown: str) -> None:
    """Exactly: the answer, its citation (which quotes the cited sentence), the audit id — nothing else."""
    lines = [line.rstrip() for line in shown.splitlines() if line.strip()]
    assert len(lines) == 3 and lines[0] == ANSWER, shown
    assert re.fullmatch(r"\[1\] heron/heron\.md \[\d+:\d+\] “The budget owner is Dana Okafor\.”", lines[1]), shown
    assert re.fullmatch(r"audit id \w+", lines[2]), shown


def test_a_pipe_gets_the_answer_once_then_its_citations(fake_home):
    result = CliRunner().invoke(app, ["--home", str(fake_home), "ask", QUESTION])
    assert result.exit_code == 0, result.output
    assert_one_answer_then_citations(result.stdout)
    assert result.stderr == ""  # no streamed draft anywhere


def test_a_terminal_sees_the_draft_stream_then_only_the_final_answer(fake_home, monkeypatch):
    monkeypatch.setattr(ask_module, "console", Console(force_terminal=True, width=120))
    result = CliRunner().invoke(app, ["--home", str(fake_home), "ask", QUESTION])
    assert result.exit_code == 0, result.output
    assert "Okafor. [1]" in result.stdout  # the raw reply was streamed while it was written …
    assert_one_answer_then_citations(screen(result.stdout))  # … and replaced by the verified answer
    assert result.stderr == ""


def test_an_abstention_replaces_the_streamed_reply(fake_home, monkeypatch):
    def unsupported(self) -> Workspace:
        return Workspace(fake_home, embedder=FakeEmbedder(), generators=FakeGenerators("The launch is on Mars in 2090 [1]."))

    monkeypatch.setattr(CliState, "workspace", unsupported)
    monkeypatch.setattr(ask_module, "console", Console(force_terminal=True, width=120))
    result = CliRunner().invoke(app, ["--home", str(fake_home), "ask", QUESTION])
    shown = screen(result.stdout)
    assert result.exit_code == 0 and "Mars" not in shown and "(abstained: unsupported)" in shown, shown


def test_json_output_is_unchanged_and_alone_on_stdout(fake_home, monkeypatch):
    monkeypatch.setattr(ask_module, "console", Console(force_terminal=True, width=120))
    result = CliRunner().invoke(app, ["--home", str(fake_home), "ask", QUESTION, "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["answer"] == ANSWER and data["citations"][0]["doc_id"] == "heron/heron.md"


def test_version_prints_the_installed_version():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"ragtune {metadata.version('ragtune')}\n"


def test_version_falls_back_to_the_package_version(monkeypatch):
    real = metadata.version

    def not_installed(name: str) -> str:
        if name == "ragtune":
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(metadata, "version", not_installed)
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout == f"ragtune {ragtune.__version__}\n"


def test_the_package_version_is_the_one_in_pyproject():
    assert tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"] == ragtune.__version__
