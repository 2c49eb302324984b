"""``POST /v1/search``: the caller's groups restrict the search inside the query."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from ragtune.api.auth import api_key
from ragtune.api.schemas import SearchHit, SearchRequest, SearchResponse
from ragtune.api.state import server_state
from ragtune.keys import ApiKey
from ragtune.types import Filters

router = APIRouter(tags=["search"])


@router.post("/v1/search", response_model=SearchResponse)
def search(body: SearchRequest, request: Request, key: ApiKey = Depends(api_key)) -> SearchResponse:
    filters = Filters(body.path_prefix or None, dict(body.where or {}))
    result = server_state(request).workspace.documents.search(body.query, mode=body.mode, k=body.k, filters=filters,
                                                              viewer=key.viewer)
    hits = [SearchHit(doc_id=h.chunk.doc_id, chunk_id=h.chunk.chunk_id, doc_version=h.chunk.doc_version,
                      start=h.chunk.start, end=h.chunk.end, score=round(h.score, 6), text=h.chunk.text,
                      heading_path=list(h.chunk.heading_path))
            for h in result.hits]
    return SearchResponse(query=body.query, mode=body.mode, k=body.k, store_version=result.store_version,
                          results=hits, timings_ms={k: round(v, 3) for k, v in result.timings_ms.items()})
