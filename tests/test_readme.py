"""The README stays honest: every `ragtune` command and the Python example in it run successfully."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import REPO

README = (REPO / "README.md").read_text()


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def ragtune_lines() -> list[str]:
    lines = []
    for block in code_blocks("sh"):
        for line in block.splitlines():
            command = line.split("  #")[0].strip()
            if command.startswith("ragtune "):
                lines.append(command)
    return lines


def test_the_readme_documents_the_core_commands():
    commands = {shlex.split(line)[1] for line in ragtune_lines()}
    assert {"ingest", "search", "sync", "status", "eval"} <= commands
    assert "make demo" in README and "make test" in README


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "examples").symlink_to(REPO / "examples")
    return tmp_path


@pytest.mark.slow
def test_every_ragtune_command_in_the_readme_runs(workdir: Path):
    for line in ragtune_lines():  # in order: ingest first, then search/sync/status on that index
        args = shlex.split(line)[1:]
        result = subprocess.run([sys.executable, "-m", "ragtune.cli.main", *args], cwd=workdir,
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"{line}\n{result.stderr}"
        if "--json" in args:
            json.loads(result.stdout)


@pytest.mark.slow
def test_the_python_example_in_the_readme_runs(workdir: Path):
    (example,) = code_blocks("python")
    result = subprocess.run([sys.executable, "-c", example], cwd=workdir, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
