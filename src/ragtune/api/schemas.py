"""Request and response bodies of every route (the OpenAPI schema at /openapi.json is generated from these).

The chat models follow OpenAI's shapes; requests ignore fields ragtune does not use (``n``, ``top_p``, ``user`` …)
so an unmodified OpenAI client works."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ErrorDetail(BaseModel):
    message: str
    type: str
    code: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: Literal["ok"]
    version: str


class Me(BaseModel):
    key_id: str
    name: str
    groups: list[str]
    admin: bool


class Status(BaseModel):
    documents: int
    chunks: int
    store_version: int
    backend: str


# ---- chat ----------------------------------------------------------------------------------------------------

class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(p.text or "" for p in self.content if p.type == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: str = Field("default", max_length=200)
    messages: list[ChatMessage] = Field(..., min_length=1, max_length=200)
    max_tokens: int | None = Field(None, ge=1, le=2048)
    max_completion_tokens: int | None = Field(None, ge=1, le=2048)
    temperature: float | None = Field(None, ge=0, le=2)
    stream: bool = False

    def question(self) -> str:
        return next((m.text() for m in reversed(self.messages) if m.role == "user"), "")


class CitationOut(BaseModel):
    n: int
    doc_id: str
    doc_version: str
    start: int
    end: int
    quote: str


class RagtuneExtra(BaseModel):
    answer: str
    abstained: bool
    abstain_reason: str | None
    audit_id: str | None
    citations: list[CitationOut]


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: str


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    ragtune: RagtuneExtra


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "ragtune"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


# ---- search and documents ------------------------------------------------------------------------------------

class SearchRequest(BaseModel):
    query: str = Field(..., min_length=1, max_length=4000)
    mode: Literal["hybrid", "bm25", "dense"] = "hybrid"
    k: int = Field(10, ge=1, le=100)
    where: dict[str, str] | None = None
    path_prefix: str | None = Field(None, max_length=4000)


class SearchHit(BaseModel):
    doc_id: str
    chunk_id: str
    doc_version: str
    start: int
    end: int
    score: float
    text: str
    heading_path: list[str]


class SearchResponse(BaseModel):
    query: str
    mode: str
    k: int
    store_version: int
    results: list[SearchHit]
    timings_ms: dict[str, float] = Field(default_factory=dict,
                                         description="where the search spent its time: load, bm25, embed, dense, "
                                                     "fuse, total (ms)")


class DocumentSummaryOut(BaseModel):
    id: str
    source: str
    version: str
    chunks: int
    groups: list[str]
    title: str
    updated: str


class DocumentList(BaseModel):
    documents: list[DocumentSummaryOut]


class ChunkSpan(BaseModel):
    chunk_id: str
    ordinal: int
    start: int
    end: int
    heading_path: list[str]


class DocumentOut(BaseModel):
    id: str
    source: str
    version: str
    title: str
    groups: list[str]
    updated: str
    metadata: dict[str, str]
    text: str
    chunks: list[ChunkSpan]


class UploadOut(BaseModel):
    id: str
    source: str
    version: str
    chunks: int
    groups: list[str]
    unchanged: bool
    updated: bool


class Deleted(BaseModel):
    id: str
    deleted: bool


class SyncRequest(BaseModel):
    source: str = Field(..., min_length=1, max_length=64)
    groups: list[str] | None = Field(None, max_length=100)


class SyncFailure(BaseModel):
    source: str
    reason: str


class SyncReport(BaseModel):
    added: int
    updated: int
    removed: int
    unchanged: int
    chunks: int
    seconds: float
    failed: list[SyncFailure]


class SourceOut(BaseModel):
    name: str
    root: str
    kind: str
    created: str
    synced: str
    documents: int
    chunks: int


class SourceList(BaseModel):
    sources: list[SourceOut]


# ---- audit, adapters, diagnose -------------------------------------------------------------------------------

class AuditSummary(BaseModel):
    id: str
    seq: int
    created: str
    kind: str
    question: str | None = None
    answer: str | None = None
    abstained: bool | None = None
    api_key_id: str | None = None


class AuditList(BaseModel):
    records: list[AuditSummary]


class AuditVerify(BaseModel):
    ok: bool
    records: int
    first_bad: int | str | None
    reason: str | None = None


class ReplayOut(BaseModel):
    record_id: str
    store_version: int | None
    identical: bool
    same_model: bool
    same_retrieval: bool
    same_answer: bool
    original_answer: str
    replayed_answer: str
    original_chunks: list[str]
    replayed_chunks: list[str]


class AdapterOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    name: str
    created: str
    promoted: bool
    metrics: dict


class AdapterList(BaseModel):
    adapters: list[AdapterOut]


class DiagnoseSummary(BaseModel):
    id: str
    verdict: str | None
    created: str
    target: float | None
    conditions: dict
    has_report: bool


class DiagnoseList(BaseModel):
    runs: list[DiagnoseSummary]
