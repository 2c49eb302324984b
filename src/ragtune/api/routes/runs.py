"""Adapters (any key: names and eval metrics, no documents) and diagnose runs (admin keys: eval sets may quote
any document)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from ragtune.api.auth import admin_key, api_key
from ragtune.api.schemas import AdapterList, AdapterOut, DiagnoseList, DiagnoseSummary
from ragtune.api.state import server_state
from ragtune.errors import NotFoundError
from ragtune.keys import ApiKey

router = APIRouter()
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}")
# The report is ragtune's own self-contained HTML; this policy keeps it inert even so (no scripts, no requests).
REPORT_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"


@router.get("/v1/adapters", response_model=AdapterList, tags=["adapters"])
def adapters(request: Request, key: ApiKey = Depends(api_key)) -> AdapterList:
    registry = server_state(request).workspace.registry
    promoted = registry.promoted()
    out = []
    for record in registry.list():
        data = record.to_json(promoted=promoted is not None and record.id == promoted.id)
        data.pop("path", None)  # a server path is nobody's business
        out.append(AdapterOut(**data))
    return AdapterList(adapters=out)


def _run_path(request: Request, run_id: str, suffix: str) -> Path:
    runs = server_state(request).workspace.evaluation.runs_dir
    path = runs / f"diagnose-{run_id}{suffix}"
    if not _RUN_ID.fullmatch(run_id) or not path.is_file():
        raise NotFoundError(f"diagnose run {run_id!r} not found")
    return path


@router.get("/v1/diagnose", response_model=DiagnoseList, tags=["diagnose"])
def diagnose_runs(request: Request, key: ApiKey = Depends(admin_key)) -> DiagnoseList:
    runs_dir = server_state(request).workspace.evaluation.runs_dir
    runs = []
    paths = sorted(runs_dir.glob("diagnose-*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in paths:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # a file being written or damaged: not a run to list
        created = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")
        target = data.get("target")
        runs.append(DiagnoseSummary(id=path.stem[len("diagnose-"):], verdict=data.get("verdict"), created=created,
                                    target=target if isinstance(target, (int, float)) else None,
                                    conditions=data.get("conditions") or {},
                                    has_report=path.with_suffix(".html").is_file()))
    return DiagnoseList(runs=runs)


@router.get("/v1/diagnose/{run_id}", tags=["diagnose"])
def diagnose_run(run_id: str, request: Request, key: ApiKey = Depends(admin_key)) -> dict:
    try:
        return json.loads(_run_path(request, run_id, ".json").read_text())
    except ValueError:
        raise NotFoundError(f"diagnose run {run_id!r} is not readable JSON") from None


@router.get("/v1/diagnose/{run_id}/report", response_class=HTMLResponse, tags=["diagnose"])
def diagnose_report(run_id: str, request: Request, key: ApiKey = Depends(admin_key)) -> HTMLResponse:
    html = _run_path(request, run_id, ".html").read_text(encoding="utf-8")
    return HTMLResponse(html, headers={"Content-Security-Policy": REPORT_POLICY})
