"""The OpenAI-compatible routes: ``POST /v1/chat/completions`` (plain and streamed) and ``GET /v1/models``.

An answer is a ragtune answer — retrieved from the documents the caller may see, citations verified, audited
under the caller's key id — wrapped in OpenAI's shapes, with the citations in an extra top-level ``ragtune``
field that OpenAI clients carry through untouched."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from typing import AsyncIterator, Callable

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from ragtune.api.auth import api_key
from ragtune.api.errors import ApiError, classify, error_body, log
from ragtune.api.schemas import (
    AssistantMessage,
    ChatCompletion,
    ChatRequest,
    Choice,
    CitationOut,
    ModelCard,
    ModelList,
    RagtuneExtra,
    Usage,
)
from ragtune.api.state import ServerState, server_state
from ragtune.errors import InputError, RagtuneError
from ragtune.generate.answer import Answer
from ragtune.keys import ApiKey
from ragtune.types import GenerationParams

router = APIRouter(tags=["chat"])
DEFAULT_MODEL = "default"  # the base model with the promoted adapter
BASE_MODEL = "base"  # the base model alone


@router.get("/v1/models", response_model=ModelList)
def models(request: Request, key: ApiKey = Depends(api_key)) -> ModelList:
    ids = [DEFAULT_MODEL, BASE_MODEL] + [r.id for r in server_state(request).workspace.registry.list()]
    return ModelList(data=[ModelCard(id=i) for i in ids])


def adapter_for(state: ServerState, model: str) -> str | None:
    """The adapter a ``model`` name means: None (the promoted one) for "default", "base", or a registry id —
    never a folder (a client must not choose files to load)."""
    if model == DEFAULT_MODEL:
        return None
    if model == BASE_MODEL or model in {r.id for r in state.workspace.registry.list()}:
        return model
    raise ApiError(404, f"model {model!r} not found: GET /v1/models lists the models", code="model_not_found")


def params_for(state: ServerState, body: ChatRequest) -> GenerationParams:
    params = state.workspace.settings.answer.params
    max_tokens = body.max_completion_tokens or body.max_tokens
    if max_tokens is not None:
        params = replace(params, max_new_tokens=max_tokens)
    if body.temperature is not None:
        params = replace(params, temperature=body.temperature)
    return params


def ragtune_extra(answer: Answer) -> RagtuneExtra:
    return RagtuneExtra(answer=answer.answer, abstained=answer.abstained, abstain_reason=answer.abstain_reason,
                        audit_id=answer.audit_id,
                        citations=[CitationOut(n=c.n, doc_id=c.doc_id, doc_version=c.doc_version, start=c.start,
                                               end=c.end, quote=c.quote) for c in answer.citations])


def completion(answer: Answer, model: str) -> ChatCompletion:
    generation = answer.generation
    prompt = generation.prompt_tokens if generation else 0
    completion_tokens = generation.completion_tokens if generation else 0
    finish = generation.finish_reason if generation and not answer.abstained else "stop"
    return ChatCompletion(id=f"chatcmpl-{answer.audit_id}", created=int(time.time()), model=model,
                          choices=[Choice(message=AssistantMessage(content=answer.answer), finish_reason=finish)],
                          usage=Usage(prompt_tokens=prompt, completion_tokens=completion_tokens,
                                      total_tokens=prompt + completion_tokens),
                          ragtune=ragtune_extra(answer))


def _ask(state: ServerState, body: ChatRequest, key: ApiKey, adapter: str | None,
         on_token: Callable[[str], None] | None = None) -> Answer:
    with state.generation:  # one generation at a time in this process (see ServerState)
        return state.workspace.answers.ask(body.question(), adapter=adapter, params=params_for(state, body),
                                           viewer=key.viewer, on_token=on_token, source="api")


@router.post("/v1/chat/completions", response_model=ChatCompletion,
             responses={200: {"content": {"text/event-stream": {}},
                              "description": "a chat.completion, or with stream=true a text/event-stream of "
                                             "chat.completion.chunk events ending in data: [DONE]"}})
async def chat_completions(body: ChatRequest, request: Request,
                           key: ApiKey = Depends(api_key)) -> ChatCompletion | StreamingResponse:
    state = server_state(request)
    if not body.question().strip():
        raise InputError("no question: the last user message is empty or missing")
    adapter = await asyncio.to_thread(adapter_for, state, body.model)
    params_for(state, body)  # invalid decoding settings fail here, as a 400, before anything runs
    if not body.stream:
        answer = await asyncio.to_thread(_ask, state, body, key, adapter)
        return completion(answer, body.model)
    return await _stream(state, body, key, adapter)


async def _stream(state: ServerState, body: ChatRequest, key: ApiKey, adapter: str | None) -> StreamingResponse:
    """Tokens travel from the generating thread to the event loop through a queue; the first event is awaited
    before the response starts, so an error that happens before any token (a model that will not load) still
    gets its proper status code instead of a broken stream."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, object]] = asyncio.Queue()

    def put(kind: str, value: object) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, (kind, value))

    def work() -> None:
        try:
            put("done", _ask(state, body, key, adapter, on_token=lambda piece: put("token", piece)))
        except BaseException as exc:  # noqa: BLE001 — handed to the event loop, which reports it
            put("error", exc)

    worker = loop.run_in_executor(None, work)
    first = await queue.get()
    if first[0] == "error":
        await worker
        raise first[1]  # type: ignore[misc]
    created = int(time.time())
    stream_id = f"chatcmpl-{int(time.time() * 1000):x}"

    def chunk(delta: dict, finish: str | None = None, extra: RagtuneExtra | None = None) -> str:
        data: dict = {"id": stream_id, "object": "chat.completion.chunk", "created": created, "model": body.model,
                      "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        if extra is not None:
            data["ragtune"] = extra.model_dump()
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    async def events() -> AsyncIterator[str]:
        yield chunk({"role": "assistant", "content": ""})
        event, streamed = first, False
        while True:
            kind, value = event
            if kind == "token":
                streamed = True
                yield chunk({"content": value})
            elif kind == "done":
                assert isinstance(value, Answer)
                if not streamed:  # nothing was generated (no relevant sources): the abstention is the content
                    yield chunk({"content": value.answer})
                yield chunk({}, "stop", ragtune_extra(value))
                break
            else:
                if isinstance(value, RagtuneError):
                    (_, type), message = classify(value), str(value)
                else:  # a bug: the details go to the server log only
                    log.error("internal error while streaming an answer", exc_info=value)  # type: ignore[arg-type]
                    type, message = "server_error", "internal server error"
                yield f"data: {json.dumps(error_body(message, type))}\n\n"
                break
            event = await queue.get()
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
