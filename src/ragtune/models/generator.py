"""Generator backends behind one interface: a local transformers model or an OpenAI-compatible server."""

from __future__ import annotations

from typing import Iterator, Protocol, Sequence

from ragtune.types import Generation, GenerationParams, Message, ModelIdentity


class Generator(Protocol):
    identity: ModelIdentity

    def generate(self, messages: Sequence[Message], params: GenerationParams) -> Generation: ...

    def stream(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[str]:
        """Yield text pieces as they are produced; their concatenation equals ``generate(...).text``."""
        ...


def truncate_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Cut ``text`` at the first stop string; returns (text, stopped)."""
    cut = min((text.find(s) for s in stop if s and s in text), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)
