"""Prometheus metrics, written by hand (a few counters and one histogram need no library), and the ASGI middleware
that records them and writes the access log.

Labels are bounded: ``route`` is the matched route's template (``/v1/documents/{doc_id:path}``), or
``unmatched``, never the raw path. The access log names the key id the auth dependency put in the request state
and never a header, so no key reaches a log."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from typing import Any, Awaitable, Callable

from starlette.exceptions import HTTPException

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
access_log = logging.getLogger("ragtune.access")


def _labels(**labels: str) -> str:
    inner = ",".join(f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
                     for k, v in labels.items())
    return "{" + inner + "}"


class Metrics:
    """Counters of one process (each uvicorn worker keeps its own)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[tuple[str, str, int]] = Counter()
        self.errors: Counter[tuple[str, str]] = Counter()
        self.auth_failures = 0
        self._buckets: dict[str, list[int]] = {}
        self._sums: Counter[str] = Counter()

    def observe(self, method: str, route: str, status: int, seconds: float, error_type: str | None) -> None:
        with self._lock:
            self.requests[(method, route, status)] += 1
            if error_type or status >= 500:
                self.errors[(route, error_type or "server_error")] += 1
            counts = self._buckets.setdefault(route, [0] * (len(BUCKETS) + 1))
            counts[next((i for i, b in enumerate(BUCKETS) if seconds <= b), len(BUCKETS))] += 1
            self._sums[route] += seconds

    def auth_failure(self) -> None:
        with self._lock:
            self.auth_failures += 1

    def render(self, documents: int, chunks: int) -> str:
        lines = ["# HELP ragtune_http_requests_total HTTP requests by method, route and status.",
                 "# TYPE ragtune_http_requests_total counter"]
        with self._lock:
            for (method, route, status), n in sorted(self.requests.items()):
                lines.append(f"ragtune_http_requests_total{_labels(method=method, route=route, status=str(status))} {n}")
            lines += ["# HELP ragtune_http_request_duration_seconds Time to the end of the response, by route.",
                      "# TYPE ragtune_http_request_duration_seconds histogram"]
            for route, counts in sorted(self._buckets.items()):
                total = 0
                for bound, n in zip([*map(str, BUCKETS), "+Inf"], counts):
                    total += n
                    lines.append(f"ragtune_http_request_duration_seconds_bucket{_labels(route=route, le=bound)} {total}")
                lines.append(f"ragtune_http_request_duration_seconds_sum{_labels(route=route)} {self._sums[route]:.6f}")
                lines.append(f"ragtune_http_request_duration_seconds_count{_labels(route=route)} {total}")
            lines += ["# HELP ragtune_http_errors_total Error responses by route and error type.",
                      "# TYPE ragtune_http_errors_total counter"]
            for (route, type), n in sorted(self.errors.items()):
                lines.append(f"ragtune_http_errors_total{_labels(route=route, type=type)} {n}")
            lines += ["# HELP ragtune_auth_failures_total Requests refused for a missing or invalid key.",
                      "# TYPE ragtune_auth_failures_total counter", f"ragtune_auth_failures_total {self.auth_failures}"]
        lines += ["# HELP ragtune_documents Documents in the index.", "# TYPE ragtune_documents gauge",
                  f"ragtune_documents {documents}",
                  "# HELP ragtune_chunks Chunks in the index.", "# TYPE ragtune_chunks gauge", f"ragtune_chunks {chunks}"]
        return "\n".join(lines) + "\n"


ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


class RequestLog:
    """Times every HTTP request, counts it in :class:`Metrics`, writes one access-log line, and caps request
    bodies: over ``max_body`` bytes (by Content-Length, or counted as it arrives) is a 413 before the body is
    read into memory or a temporary file."""

    def __init__(self, app: ASGIApp, metrics: Metrics, max_body: Callable[[str], int]) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body

    async def __call__(self, scope: dict, receive: Callable[[], Awaitable[dict]],
                       send: Callable[[dict], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when the app raises before responding
        limit = self.max_body(scope["path"])
        declared = dict(scope.get("headers") or []).get(b"content-length")
        received = 0

        async def limited_receive() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # an HTTPException: FastAPI re-raises those from body parsing (others become a 400)
                    raise HTTPException(413, f"request body over the {limit}-byte limit")
            return message

        async def observed_send(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            if declared is not None and declared.isdigit() and int(declared) > limit:
                await _too_large(send, limit)
                status = 413
            else:
                await self.app(scope, limited_receive, observed_send)
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            state = scope.get("state") or {}
            self.metrics.observe(scope["method"], route, status, seconds, state.get("error_type"))
            client = (scope.get("client") or ("-", 0))[0]
            access_log.info('%s %s "%s %s" %d %.1fms', client, state.get("key_id", "-"), scope["method"],
                            scope["path"], status, seconds * 1000)


async def _too_large(send: Callable[[dict], Awaitable[None]], limit: int) -> None:
    import json

    body = json.dumps({"error": {"message": f"request body over the {limit}-byte limit",
                                 "type": "request_too_large", "code": None}}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
