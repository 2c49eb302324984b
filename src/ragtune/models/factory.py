"""Build generators from settings. Components take a :data:`GeneratorFactory` instead of a model, so tests pass
a factory of fakes and every code path — replay's "rebuild the recorded model" included — runs under test."""

from __future__ import annotations

from typing import Callable

from ragtune.config import GeneratorConfig
from ragtune.models.generator import Generator
from ragtune.types import AdapterRef

GeneratorFactory = Callable[[GeneratorConfig, "AdapterRef | None"], Generator]
"""(which model, which adapter or None) → a ready generator."""

_CACHE: dict[tuple, Generator] = {}


def model_generators(device: str | None = None) -> GeneratorFactory:
    """The real factory: a local transformers model (with the adapter merged in) or an OpenAI-compatible server,
    cached per process because loading a model costs seconds."""

    def build(config: GeneratorConfig, adapter: AdapterRef | None) -> Generator:
        key = (config.model, config.base_url, str(adapter.path) if adapter else None,
               adapter.adapter_id if adapter else None, device, None if config.base_url else config.dtype)
        if key not in _CACHE:
            if config.base_url:
                from ragtune.models.openai_server import OpenAIServerGenerator

                _CACHE[key] = OpenAIServerGenerator(config.base_url, config.model, config.api_key)
            else:
                from ragtune.models.local import LocalGenerator

                _CACHE[key] = LocalGenerator(config.model, adapter=adapter.path if adapter else None,
                                             adapter_id=adapter.adapter_id if adapter else None, device=device,
                                             dtype=config.dtype)
        return _CACHE[key]

    return build


def model_ref(config: GeneratorConfig, adapter: AdapterRef | None) -> dict:
    """What replay needs to rebuild the same generator (never the API key)."""
    return {"model": config.model, "base_url": config.base_url, "adapter": str(adapter.path) if adapter else None,
            "adapter_id": adapter.adapter_id if adapter else None,
            "dtype": None if config.base_url else config.dtype}
