"""What the tests that run a real `ragtune serve` subprocess or a real browser share: a free port, the test-only
fake-model environment, waiting (bounded) for the server to answer and stopping it, and headless Chromium."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest
from tests.conftest import REPO

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fake_models_env() -> dict[str, str]:
    """This environment without RAGTUNE_* settings, with the fake models selected (RAGTUNE_TESTING_FAKE_MODELS,
    test-only) and this checkout's source importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGTUNE_")}
    env.update(RAGTUNE_TESTING_FAKE_MODELS="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")])))
    return env


def wait_healthy(base: str, proc: subprocess.Popen, seconds: float = 90, log: Path | None = None) -> None:
    """Poll ``base``/healthz until it answers 200; fail (with the server's log) if the process exits or time runs
    out."""
    deadline = time.monotonic() + seconds
    while True:
        assert proc.poll() is None, "ragtune serve exited:\n" + (log.read_text() if log else "")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        assert time.monotonic() < deadline, "ragtune serve did not start:\n" + (log.read_text() if log else "")
        time.sleep(0.2)


def stop(proc: subprocess.Popen, seconds: float = 30) -> None:
    """Ctrl-C the server's process group (started with ``start_new_session=True``); kill it if it lingers."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def chromium() -> Iterator:
    """Headless Debian Chromium through playwright (never `playwright install`), for a fixture to yield from;
    skips when either is missing."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found (apt-get install -y chromium; `make setup` does it)")
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("the playwright package is not installed (pip install -e '.[dev]')")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()
