"""Any OpenAI-compatible chat server (llama.cpp's llama_cpp.server, vLLM, Ollama, …) via the official client."""

from __future__ import annotations

import time
from typing import Iterator, Sequence

from ragtune.errors import ModelError
from ragtune.models.generator import truncate_at_stop
from ragtune.types import Generation, GenerationParams, Message, ModelIdentity


class OpenAIServerGenerator:
    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout: float = 120.0) -> None:
        from openai import OpenAI

        if not base_url.startswith(("http://", "https://")):
            raise ModelError(f"base_url {base_url!r}: expected an http(s) URL such as http://127.0.0.1:8000/v1")
        self.base_url = base_url
        self.client = OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=1)
        self.identity = ModelIdentity(backend="openai", model_id=model, model_hash="",
                                      extra={"base_url": base_url})

    def _request(self, messages: Sequence[Message], params: GenerationParams, stream: bool):
        import openai

        try:
            return self.client.chat.completions.create(
                model=self.identity.model_id,
                messages=list(messages),  # type: ignore[arg-type]
                max_tokens=params.max_new_tokens,
                temperature=params.temperature,
                top_p=params.top_p,
                seed=params.seed,
                stop=list(params.stop) or None,
                stream=stream,
            )
        except openai.APIConnectionError as exc:
            raise ModelError(f"cannot reach the model server at {self.base_url}: is it running? ({exc})") from exc
        except openai.APIStatusError as exc:
            raise ModelError(f"model server at {self.base_url} answered {exc.status_code}: {exc.message}") from exc

    def generate(self, messages: Sequence[Message], params: GenerationParams) -> Generation:
        started = time.perf_counter()
        response = self._request(messages, params, stream=False)
        choice = response.choices[0]
        text, _ = truncate_at_stop(choice.message.content or "", params.stop)
        usage = response.usage
        return Generation(
            text.strip(),
            usage.prompt_tokens if usage else 0,
            usage.completion_tokens if usage else 0,
            time.perf_counter() - started,
            choice.finish_reason or "stop",
        )

    def stream(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[str]:
        for event in self._request(messages, params, stream=True):
            if event.choices and event.choices[0].delta and event.choices[0].delta.content:
                yield event.choices[0].delta.content
