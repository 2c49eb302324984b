"""Build the configured generator (cached per process: loading a model costs seconds)."""

from __future__ import annotations

from pathlib import Path

from ragtune.config import GeneratorConfig
from ragtune.models.generator import Generator

_CACHE: dict[tuple, Generator] = {}


def load_generator(
    config: GeneratorConfig, *, adapter: Path | None = None, adapter_id: str | None = None, device: str | None = None
) -> Generator:
    key = (config.model, config.base_url, str(adapter) if adapter else None, adapter_id, device)
    if key not in _CACHE:
        if config.base_url:
            from ragtune.models.openai_server import OpenAIServerGenerator

            _CACHE[key] = OpenAIServerGenerator(config.base_url, config.model, config.api_key)
        else:
            from ragtune.models.local import LocalGenerator

            _CACHE[key] = LocalGenerator(config.model, adapter=adapter, adapter_id=adapter_id, device=device)
    return _CACHE[key]


def model_ref(config: GeneratorConfig, adapter: tuple[Path, str] | None) -> dict:
    """What replay needs to rebuild the same generator (never the API key); ``adapter`` is (folder, id)."""
    return {"model": config.model, "base_url": config.base_url, "adapter": str(adapter[0]) if adapter else None,
            "adapter_id": adapter[1] if adapter else None}
