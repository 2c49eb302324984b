"""Generator backends behind one interface: a local transformers model or an OpenAI-compatible server."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Iterator, Protocol, Sequence

from ragtune.errors import ConfigError

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": "..."}


@dataclass(frozen=True)
class GenerationParams:
    """Decoding settings; ``temperature == 0`` means greedy (deterministic for local models)."""

    max_new_tokens: int = 160
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    stop: tuple[str, ...] = ()
    repetition_penalty: float = 1.0  # > 1 discourages repeating tokens (local models; servers may ignore it)

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ConfigError(f"max_new_tokens={self.max_new_tokens}: must be >= 1")
        if self.temperature < 0:
            raise ConfigError(f"temperature={self.temperature}: must be >= 0")
        if self.repetition_penalty <= 0:
            raise ConfigError(f"repetition_penalty={self.repetition_penalty}: must be > 0")
        if not 0 < self.top_p <= 1:
            raise ConfigError(f"top_p={self.top_p}: must be in (0, 1]")

    def to_json(self) -> dict:
        data = asdict(self)
        data["stop"] = list(self.stop)
        return data


@dataclass(frozen=True)
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    finish_reason: str = "stop"


@dataclass(frozen=True)
class ModelIdentity:
    """What the audit log records so an answer can be tied to exact weights."""

    backend: str  # "local" | "openai"
    model_id: str
    model_hash: str  # sha256 of the weights file(s); "" when a server does not expose it
    adapter_id: str | None = None
    adapter_hash: str | None = None
    extra: dict = field(default_factory=dict)


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
