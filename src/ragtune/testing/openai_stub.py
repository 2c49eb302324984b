"""A minimal OpenAI-compatible chat server for tests: speaks ``POST /v1/chat/completions`` (plain JSON and
server-sent-event streaming) on 127.0.0.1, answers with a function of the messages, and stops itself after a
bounded number of requests or when the ``with`` block ends."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Sequence

Reply = Callable[[Sequence[dict]], str]


class OpenAIStubServer:
    def __init__(self, reply: Reply, model: str = "stub-model", max_requests: int = 200) -> None:
        self.reply = reply
        self.model = model
        self.max_requests = max_requests
        self.requests: list[dict] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                if len(stub.requests) >= stub.max_requests or not self.path.endswith("/chat/completions"):
                    self.send_error(404 if len(stub.requests) < stub.max_requests else 429)
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append(body)
                if body.get("model") != stub.model:
                    self._json(404, {"error": {"message": f"model {body.get('model')!r} not found"}})
                    return
                text = stub.reply(body["messages"])
                if body.get("stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    for piece in text.split(" "):
                        chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": stub.model,
                                 "choices": [{"index": 0, "delta": {"content": piece + " "}, "finish_reason": None}]}
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.write(b"data: [DONE]\n\n")
                    return
                self._json(200, {
                    "id": "c", "object": "chat.completion", "created": 0, "model": stub.model,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": len(text.split()), "total_tokens": 0},
                })

            def _json(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> "OpenAIStubServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
