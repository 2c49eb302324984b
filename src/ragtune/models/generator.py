"""Generator backends behind one interface: a local transformers model or an OpenAI-compatible server.

Evaluation runs many prompts at once through :func:`generate_many`: a backend that can decode several prompts
in one padded batch (``generate_batch``, the local model) gets them in batches; any other backend answers them
one at a time. Either way the texts are the ones ``generate`` gives for each prompt alone.
"""

from __future__ import annotations

from typing import Callable, Iterator, Protocol, Sequence

from ragtune.types import Generation, GenerationParams, Message, ModelIdentity

Request = tuple[Sequence[Message], GenerationParams]
"""One prompt and its decoding settings."""


class Generator(Protocol):
    identity: ModelIdentity

    def generate(self, messages: Sequence[Message], params: GenerationParams) -> Generation: ...

    def stream(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[str]:
        """Yield text pieces as they are produced; their concatenation equals ``generate(...).text``."""
        ...


class BatchGenerator(Generator, Protocol):
    def generate_batch(self, requests: Sequence[Request]) -> list[Generation]:
        """One generation per request, in request order, each equal to ``generate`` on that request alone."""
        ...


def truncate_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Cut ``text`` at the first stop string; returns (text, stopped)."""
    cut = min((text.find(s) for s in stop if s and s in text), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def _prompt_size(request: Request) -> int:
    return sum(len(m["content"]) for m in request[0])


def generate_many(generator: Generator, requests: Sequence[Request], *, batch_size: int,
                  on_result: Callable[[int, Generation | Exception], None]) -> None:
    """Generate every request, calling ``on_result(index, generation or the exception it raised)`` as each one
    is done (in batch order, not request order).

    Requests are sorted by prompt size so that a batch holds prompts of similar length (less padding), then cut
    into batches of at most ``batch_size``. When a whole batch fails, its requests are retried one at a time, so
    a request that breaks the model costs only its own result."""
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size}: must be at least 1")
    order = sorted(range(len(requests)), key=lambda i: _prompt_size(requests[i]))  # stable: ties keep their order
    batched = getattr(generator, "generate_batch", None)
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        if batched is not None and len(chunk) > 1:
            try:
                generations: list[Generation] | None = batched([requests[i] for i in chunk])
            except Exception:  # noqa: BLE001 — retried one at a time below, so only the request at fault fails
                generations = None
            if generations is not None:
                for i, generation in zip(chunk, generations, strict=True):
                    on_result(i, generation)
                continue
        for i in chunk:
            try:
                result: Generation | Exception = generator.generate(*requests[i])
            except Exception as exc:  # noqa: BLE001 — reported per request
                result = exc
            on_result(i, result)
