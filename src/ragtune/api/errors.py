"""Every error the API returns is JSON ``{"error": {"message", "type", "code"}}`` with the right status — never a
stack trace. ragtune's own errors map by class; anything else is a bug: logged here, a bare 500 to the client."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ragtune.errors import (
    AuditError,
    ConflictError,
    ModelError,
    NotFoundError,
    PermissionDeniedError,
    RagtuneError,
    StoreBusyError,
    StoreError,
    StoreUnavailableError,
    TooLargeError,
    UnsupportedTypeError,
    VersionCollectedError,
)

log = logging.getLogger("ragtune.api")

# First match wins, so subclasses come before their bases.
_BY_CLASS: list[tuple[type[RagtuneError], int, str]] = [
    (NotFoundError, 404, "not_found_error"),
    (TooLargeError, 413, "request_too_large"),
    (UnsupportedTypeError, 415, "unsupported_media_type"),
    (PermissionDeniedError, 403, "permission_error"),
    (ConflictError, 409, "conflict_error"),
    (AuditError, 409, "conflict_error"),
    (VersionCollectedError, 410, "gone_error"),
    (StoreBusyError, 503, "server_busy"),
    (StoreUnavailableError, 503, "server_busy"),
    (ModelError, 503, "server_busy"),
    (StoreError, 503, "server_busy"),  # an index this server cannot use (schema, embedder): fix and restart
    (RagtuneError, 400, "invalid_request_error"),
]
_BY_STATUS = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
              404: "not_found_error", 405: "invalid_request_error", 409: "conflict_error",
              413: "request_too_large", 415: "unsupported_media_type", 422: "invalid_request_error",
              429: "rate_limit_error", 503: "server_busy"}


class ApiError(Exception):
    """An error decided by the HTTP layer itself (authentication, rate limits, unknown models)."""

    def __init__(self, status: int, message: str, *, type: str | None = None, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type or _BY_STATUS.get(status, "invalid_request_error")
        self.code = code
        self.headers = headers


def error_body(message: str, type: str, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": type, "code": code}}


def error_response(request: Request, status: int, message: str, type: str, code: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    request.state.error_type = type  # for the errors metric (read by the request log middleware)
    return JSONResponse(error_body(message, type, code), status_code=status, headers=headers)


def classify(exc: RagtuneError) -> tuple[int, str]:
    return next((status, type) for cls, status, type in _BY_CLASS if isinstance(exc, cls))


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(request, exc.status, exc.message, exc.type, exc.code, exc.headers)

    @app.exception_handler(RagtuneError)
    async def ragtune_error(request: Request, exc: RagtuneError) -> JSONResponse:
        status, type = classify(exc)
        # a write lock held elsewhere, a database restarting: the same request succeeds shortly
        retry = {"Retry-After": "1"} if isinstance(exc, (StoreBusyError, StoreUnavailableError)) else None
        return error_response(request, status, str(exc), type, headers=retry)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(request, 422, _validation_message(exc), "invalid_request_error")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        return error_response(request, exc.status_code, message,
                              _BY_STATUS.get(exc.status_code, "invalid_request_error"),
                              headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return error_response(request, 500, "internal server error", "server_error")
