"""What the app's routes share: the workspace, the key store's failure limiter, metrics and the locks that keep
model generation and index writes one at a time in a process."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from fastapi import Request

from ragtune.api.metrics import Metrics
from ragtune.api.ratelimit import AuthFailures
from ragtune.workspace import Workspace


@dataclass
class ServerState:
    workspace: Workspace
    failures: AuthFailures
    metrics: Metrics
    # One generation at a time: a second CPU-bound generation would only slow both, and a local model object is
    # not safe to run from two threads at once.
    generation: threading.Lock = field(default_factory=threading.Lock)
    # Index writes (upload, delete, sync) one at a time in this process; other processes meet the home's write
    # lock (a 503 to retry).
    writes: threading.Lock = field(default_factory=threading.Lock)


def server_state(request: Request) -> ServerState:
    return request.app.state.ragtune
