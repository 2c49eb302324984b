"""``create_app(workspace)``: the FastAPI app over one ragtune home (see docs/api.md for the contract)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from ragtune.api import errors
from ragtune.api.metrics import Metrics, RequestLog
from ragtune.api.ratelimit import AuthFailures
from ragtune.api.routes import audit, chat, cost, documents, runs, search, system
from ragtune.api.state import ServerState
from ragtune.version import __version__
from ragtune.workspace import Workspace

STATIC = Path(__file__).parent / "static"
JSON_BODY_LIMIT = 1024 * 1024  # every route but the upload takes a small JSON body
MULTIPART_OVERHEAD = 1024 * 1024  # form fields and part headers around an uploaded file
# Another worker process writing to the same home: queue behind it this long before answering 503 (an upload of
# a large file through the embedder takes seconds; a client should not have to retry for that).
WRITE_WAIT_SECONDS = 60.0


def create_app(workspace: Workspace, *, failures: AuthFailures | None = None) -> FastAPI:
    """The app. ``failures`` replaces the default auth-failure limiter (10 failures a minute per address)."""
    app = FastAPI(title="ragtune", version=__version__,
                  description="Grounded answers with citations over your documents; see docs/api.md.")
    metrics = Metrics()
    workspace.documents.write_wait_seconds = WRITE_WAIT_SECONDS
    app.state.ragtune = ServerState(workspace, failures or AuthFailures(), metrics)
    errors.install(app)
    upload_limit = workspace.settings.ingest.max_file_bytes + MULTIPART_OVERHEAD

    def body_limit(path: str) -> int:
        return upload_limit if path == "/v1/documents" else JSON_BODY_LIMIT

    app.add_middleware(RequestLog, metrics=metrics, max_body=body_limit)
    for module in (system, chat, search, documents, audit, runs, cost):
        app.include_router(module.router)
    _mount_ui(app)
    return app


def _mount_ui(app: FastAPI) -> None:
    """The web UI: static files that hold no data (every call they make needs a key), so they are public."""
    if not (STATIC / "index.html").is_file():
        return
    app.mount("/ui", StaticFiles(directory=STATIC), name="ui")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")
