"""Documents: list, read, upload, delete; sources and sync for admin keys. Every read is filtered by the caller's
groups; writes run one at a time in this process (``ServerState.writes``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile

from ragtune.api.auth import admin_key, api_key
from ragtune.api.schemas import (
    ChunkSpan,
    Deleted,
    DocumentList,
    DocumentOut,
    DocumentSummaryOut,
    SourceList,
    SourceOut,
    SyncFailure,
    SyncReport,
    SyncRequest,
    UploadOut,
)
from ragtune.api.state import server_state
from ragtune.errors import NotFoundError, TooLargeError
from ragtune.keys import ApiKey

router = APIRouter(tags=["documents"])


@router.get("/v1/documents", response_model=DocumentList)
def list_documents(request: Request, source: str | None = None, key: ApiKey = Depends(api_key)) -> DocumentList:
    documents = server_state(request).workspace.documents.list_documents(key.viewer, source)
    return DocumentList(documents=[
        DocumentSummaryOut(id=d.doc_id, source=d.source, version=d.version, chunks=d.n_chunks, groups=list(d.groups),
                           title=d.title, updated=d.indexed_at) for d in documents])


@router.get("/v1/documents/{doc_id:path}", response_model=DocumentOut)
def get_document(doc_id: str, request: Request, key: ApiKey = Depends(api_key)) -> DocumentOut:
    index = server_state(request).workspace.documents
    record = index.document(doc_id, key.viewer)
    if record is None:  # missing, or not visible to this key: one answer
        raise NotFoundError(f"document {doc_id!r} not found")
    chunks = index.chunks(doc_id, key.viewer)
    return DocumentOut(id=record.doc_id, source=record.source, version=record.version, title=record.title,
                       groups=list(record.groups), updated=record.indexed_at,
                       metadata={k: str(v) for k, v in record.metadata.items()}, text=record.text,
                       chunks=[ChunkSpan(chunk_id=c.chunk_id, ordinal=c.ordinal, start=c.start, end=c.end,
                                         heading_path=list(c.heading_path)) for c in chunks])


@router.post("/v1/documents", response_model=UploadOut, status_code=201,
             responses={200: {"model": UploadOut, "description": "the same file was already there (unchanged) or "
                                                                 "replaced an older version (updated)"}})
def upload_document(request: Request, response: Response, file: UploadFile = File(...),
                    source: str = Form("uploads"), groups: str | None = Form(None),
                    key: ApiKey = Depends(api_key)) -> UploadOut:
    state = server_state(request)
    uploads = state.workspace.uploads
    name = uploads.check_type(file.filename or "")
    data = file.file.read(uploads.max_bytes + 1)
    if len(data) > uploads.max_bytes:
        raise TooLargeError(f"{name}: over the {uploads.max_bytes}-byte limit (RAGTUNE_MAX_FILE_MB)")
    with state.writes:
        result = uploads.add(name, data, source=source, groups=groups, viewer=key.viewer)
    if result.unchanged or result.updated:
        response.status_code = 200
    return UploadOut(**result.to_json())


@router.delete("/v1/documents/{doc_id:path}", response_model=Deleted)
def delete_document(doc_id: str, request: Request, key: ApiKey = Depends(api_key)) -> Deleted:
    state = server_state(request)
    with state.writes:
        state.workspace.uploads.delete(doc_id, key.viewer)
    return Deleted(id=doc_id, deleted=True)


@router.get("/v1/sources", response_model=SourceList)
def sources(request: Request, key: ApiKey = Depends(admin_key)) -> SourceList:
    return SourceList(sources=[SourceOut(**s.to_json()) for s in server_state(request).workspace.documents.sources()])


@router.post("/v1/sync", response_model=SyncReport)
def sync(body: SyncRequest, request: Request, key: ApiKey = Depends(admin_key)) -> SyncReport:
    state = server_state(request)
    with state.writes:
        report = state.workspace.documents.sync_source(body.source, body.groups)
    return SyncReport(added=report.added, updated=report.updated, removed=report.removed, unchanged=report.unchanged,
                      chunks=report.chunks, seconds=round(report.seconds, 3),
                      failed=[SyncFailure(source=f.source, reason=f.reason) for f in report.failed])
