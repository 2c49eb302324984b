"""Health, who am I, what can I see, and the metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse

from ragtune.api.auth import admin_key, api_key
from ragtune.api.schemas import Health, Me, Status
from ragtune.api.state import server_state
from ragtune.keys import ApiKey
from ragtune.version import __version__

router = APIRouter()


@router.get("/healthz", response_model=Health, tags=["system"])
async def healthz() -> Health:
    """Liveness, without a key; says nothing about the data."""
    return Health(status="ok", version=__version__)


@router.get("/v1/me", response_model=Me, tags=["system"])
def me(key: ApiKey = Depends(api_key)) -> Me:
    return Me(key_id=key.id, name=key.name, groups=list(key.groups), admin=key.admin)


@router.get("/v1/status", response_model=Status, tags=["system"])
def status(request: Request, key: ApiKey = Depends(api_key)) -> Status:
    info = server_state(request).workspace.documents.status(key.viewer)
    return Status(documents=info.documents, chunks=info.chunks, store_version=info.store_version,
                  backend=info.backend)


@router.get("/metrics", response_class=PlainTextResponse, tags=["system"])
def metrics(request: Request, key: ApiKey = Depends(admin_key)) -> PlainTextResponse:
    """Prometheus text format (this worker process's counters)."""
    state = server_state(request)
    documents, chunks = state.workspace.documents.store.counts()
    return PlainTextResponse(state.metrics.render(documents, chunks), media_type="text/plain; version=0.0.4")
