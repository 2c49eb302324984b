"""Running the app: ``ragtune serve`` starts uvicorn on an app factory, so ``--workers N`` gives N processes that
each build their own workspace and load its models before they accept a connection (so no user's first request
waits for a model load, and a model that cannot load stops the server at start, not at the first question).

``RAGTUNE_TESTING_FAKE_MODELS=1`` — for tests only — builds the workspace with ``ragtune.testing``'s fake embedder
and generators, so a test can start a real server subprocess without loading a model. Never set it in use: the
answers would be fake."""

from __future__ import annotations

import copy
import ipaddress
import os
from pathlib import Path

from fastapi import FastAPI

from ragtune.api.app import create_app
from ragtune.config import resolve_home
from ragtune.errors import ConfigError
from ragtune.keys import KeyStore
from ragtune.workspace import Workspace

FAKE_MODELS_ENV = "RAGTUNE_TESTING_FAKE_MODELS"
HOME_ENV = "RAGTUNE_HOME"


def workspace_from_env() -> Workspace:
    home = os.environ.get(HOME_ENV)
    if os.environ.get(FAKE_MODELS_ENV) == "1":
        from ragtune.testing import FakeEmbedder, FakeGenerators

        return Workspace(home, embedder=FakeEmbedder(), generators=FakeGenerators())
    return Workspace(home)


def warm(workspace: Workspace) -> None:
    """Load the embedder (for queries and for uploads), the index and the default generator (base model +
    promoted adapter) now."""
    workspace.embedder.warm_up()
    workspace.documents.search("warm-up", k=1)  # hybrid: loads the index (and runs the query path once)
    workspace.generators(workspace.settings.generator, workspace.adapters.resolve(None))


def app_from_env() -> FastAPI:
    """The uvicorn factory (``ragtune.api.server:app_from_env``): one app per worker process."""
    workspace = workspace_from_env()
    warm(workspace)
    return create_app(workspace)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_can_serve(home: Path, host: str, port: int, workers: int) -> int:
    """Refuse settings that would expose the home unsafely; returns how many keys work."""
    if not 0 < port < 65536:
        raise ConfigError(f"port {port}: must be 1–65535")
    if workers < 1:
        raise ConfigError(f"workers={workers}: must be at least 1")
    keys = KeyStore(home / "keys.sqlite").active()
    if keys == 0 and not is_loopback(host):
        raise ConfigError(f"no API keys in {home}: create one (`ragtune keys create --groups G` or --admin) before "
                          f"serving on {host}, a non-loopback address")
    return keys


def log_config() -> dict:
    """uvicorn's logging with ragtune's access log beside it (uvicorn's own access log is off: ours names the key
    id and never prints a header)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["ragtune"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def serve(home: str | Path | None, host: str, port: int, workers: int) -> None:
    import uvicorn

    resolved = resolve_home(home)
    check_can_serve(resolved, host, port, workers)
    os.environ[HOME_ENV] = str(resolved)  # worker processes read the home from here
    uvicorn.run("ragtune.api.server:app_from_env", factory=True, host=host, port=port, workers=workers,
                access_log=False, log_config=log_config(), server_header=False, timeout_graceful_shutdown=10)
