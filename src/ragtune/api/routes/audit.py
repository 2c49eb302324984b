"""The audit log over HTTP: a non-admin key sees, and may replay, only the answers it asked itself."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from ragtune.api.auth import api_key
from ragtune.api.schemas import AuditList, AuditSummary, AuditVerify, ReplayOut
from ragtune.api.state import server_state
from ragtune.keys import ApiKey

router = APIRouter(tags=["audit"])


@router.get("/v1/audit", response_model=AuditList)
def audit_list(request: Request, limit: int = Query(20, ge=1, le=500), key: ApiKey = Depends(api_key)) -> AuditList:
    records = server_state(request).workspace.records.list(limit, key.viewer)
    return AuditList(records=[
        AuditSummary(id=r.id, seq=r.seq, created=r.created, kind=r.kind, question=r.body.get("question"),
                     answer=r.body.get("answer"), abstained=r.body.get("abstained"),
                     api_key_id=r.body.get("api_key_id")) for r in records])


@router.get("/v1/audit/verify", response_model=AuditVerify)
def audit_verify(request: Request, key: ApiKey = Depends(api_key)) -> AuditVerify:
    """Whether the chain holds (any key: it tells nothing of what the records say)."""
    result = server_state(request).workspace.audit.verify()
    return AuditVerify(ok=result.ok, records=result.records, first_bad=result.first_bad, reason=result.reason)


@router.get("/v1/audit/{record_id}")
def audit_get(record_id: str, request: Request, key: ApiKey = Depends(api_key)) -> dict:
    """The full record: question, retrieved spans, prompt, model, answer, citations, hashes."""
    return server_state(request).workspace.records.get(record_id, key.viewer).to_json()


@router.post("/v1/audit/{record_id}/replay", response_model=ReplayOut)
def audit_replay(record_id: str, request: Request, key: ApiKey = Depends(api_key)) -> ReplayOut:
    state = server_state(request)
    with state.generation:
        result = state.workspace.answers.replay(record_id, key.viewer)
    return ReplayOut(**result.to_json())
