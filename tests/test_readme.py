"""The README stays honest: every `ragtune` command and the Python example in it run successfully."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import REPO
from tests.serving import fake_models_env, free_port, stop, wait_healthy

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
        if args[0] == "serve":  # runs until stopped: test_the_serve_section_runs starts it in the background
            continue
        result = subprocess.run([sys.executable, "-m", "ragtune.cli.main", *args], cwd=workdir,
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"{line}\n{result.stderr}"
        if "--json" in args:
            json.loads(result.stdout)


@pytest.mark.slow
def test_the_python_example_in_the_readme_runs(workdir: Path):
    (example,) = [b for b in code_blocks("python") if "from ragtune import" in b]
    result = subprocess.run([sys.executable, "-c", example], cwd=workdir, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr


# ---- "Serve it to a team": the server in the background, then the curl lines and the openai example ----------


def section(title: str) -> str:
    return README.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_serve_section_runs(workdir: Path):
    """Every command of the section, in order, against a home holding examples/docs. The server runs with the
    test-only fake models (RAGTUNE_TESTING_FAKE_MODELS), so this checks the commands and the wiring, not the
    model; the port is swapped for a free one."""
    from ragtune import Workspace
    from ragtune.testing import FakeEmbedder, FakeGenerators

    text = section("Serve it to a team")
    port = str(free_port())
    home = workdir / ".ragtune"
    Workspace(home, embedder=FakeEmbedder(), generators=FakeGenerators()).documents.ingest(
        [workdir / "examples" / "docs"], groups=["eng"])
    env = fake_models_env()
    (shell,) = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    commands = [line.split("  #")[0].strip() for line in shell.splitlines() if line.strip()]
    assert [shlex.split(c)[1] for c in commands] == ["keys", "keys", "keys", "serve"]
    server = None
    try:
        for command in commands:
            args = shlex.split(command.replace("8321", port))[1:]
            if args[0] == "serve":
                server = subprocess.Popen([sys.executable, "-m", "ragtune.cli.main", *args], cwd=workdir, env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          start_new_session=True)
                continue
            result = subprocess.run([sys.executable, "-m", "ragtune.cli.main", *args], cwd=workdir, env=env,
                                    capture_output=True, text=True, timeout=120)
            assert result.returncode == 0, f"{command}\n{result.stderr}"
            if "--groups eng" in command:
                env["RAGTUNE_KEY"] = re.search(r"rt_k[0-9a-f]+_\S+", result.stdout).group(0)
        assert server is not None
        wait_healthy(f"http://127.0.0.1:{port}", server)
        (console,) = re.findall(r"```console\n(.*?)```", text, flags=re.S)
        for line in console.strip().splitlines():
            result = subprocess.run(["bash", "-c", line.replace("8321", port)], cwd=workdir, env=env,
                                    capture_output=True, text=True, timeout=60)
            assert result.returncode == 0 and '"error"' not in result.stdout, f"{line}\n{result.stdout}"
            json.loads(result.stdout)
        (example,) = [b for b in code_blocks("python") if "from openai import" in b]
        result = subprocess.run([sys.executable, "-c", example.replace("8321", port)], cwd=workdir, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip()  # the fake model's words; citations are checked in tests/api
    finally:
        if server is not None:
            stop(server)


def test_the_cost_section_runs(workdir: Path):
    """The `ragtune cost` lines, on a home holding an audit log, eval runs and a change history made with the
    fake models (the slow test above runs them after the real commands too)."""
    from ragtune import Workspace
    from ragtune.testing import FakeEmbedder, FakeGenerators

    text = section("Use").split("### Cost: what each option costs at your volume\n", 1)[1].split("\n### ", 1)[0]
    (shell,) = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    commands = [line.split("  #")[0].strip() for line in shell.splitlines() if line.strip()]
    assert commands and all(shlex.split(c)[1] == "cost" for c in commands)
    home = workdir / ".ragtune"
    ws = Workspace(home, embedder=FakeEmbedder(), generators=FakeGenerators())
    ws.documents.ingest([workdir / "examples" / "docs"])
    ws.answers.ask("What constant does reciprocal rank fusion use?")
    ws.evaluation.evaluate(workdir / "examples" / "eval" / "demo_qa.jsonl", condition="closed_book", limit=2)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGTUNE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))
    for command in commands:
        args = shlex.split(command)[1:]
        result = subprocess.run([sys.executable, "-m", "ragtune.cli.main", *args], cwd=workdir, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{command}\n{result.stderr}"
        if "--json" in args:
            data = json.loads(result.stdout)
            assert data["measured"] and data["recommendation"]
