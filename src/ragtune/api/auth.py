"""Authentication: a bearer key per request, checked against the home's key store; repeated failures from one
client address are answered 429 for a while (a bounded, in-process sliding window)."""

from __future__ import annotations

from fastapi import Depends, Request

from ragtune.api.errors import ApiError
from ragtune.api.state import server_state
from ragtune.errors import PermissionDeniedError
from ragtune.keys import ApiKey


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def api_key(request: Request) -> ApiKey:
    """The caller's key (a sync dependency: the key lookup is a small SQLite read, run in the thread pool)."""
    state = server_state(request)
    client = client_address(request)
    wait = state.failures.retry_after(client)
    if wait:
        raise ApiError(429, f"too many failed authentications from {client}: retry in {wait} s",
                       headers={"Retry-After": str(wait)})
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    key = state.workspace.keys.authenticate(token.strip()) if scheme.lower() == "bearer" else None
    if key is None:
        state.failures.record(client)
        state.metrics.auth_failure()
        raise ApiError(401, "a valid API key is required: send 'Authorization: Bearer <key>' (`ragtune keys "
                       "create` makes one)", headers={"WWW-Authenticate": "Bearer"})
    request.state.key_id = key.id  # for the access log: the key's id, never the key
    return key


def admin_key(key: ApiKey = Depends(api_key)) -> ApiKey:
    if not key.admin:
        raise PermissionDeniedError("this route needs an admin key")
    return key
