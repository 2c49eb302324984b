"""Settings validate themselves on construction and name the bad value."""

from pathlib import Path

import pytest

from ragtune.config import (
    AnswerConfig,
    ChunkingConfig,
    GeneratorConfig,
    RetrievalConfig,
    Settings,
    resolve_home,
)
from ragtune.errors import ConfigError
from ragtune.types import GenerationParams


def test_home_resolution_order(monkeypatch, tmp_path):
    monkeypatch.setenv("RAGTUNE_HOME", str(tmp_path / "env-home"))
    assert resolve_home() == tmp_path / "env-home"
    assert resolve_home(tmp_path / "explicit") == tmp_path / "explicit"
    monkeypatch.delenv("RAGTUNE_HOME")
    assert resolve_home() == Path(".ragtune").resolve()


def test_settings_accept_a_string_home(tmp_path):
    assert Settings(home=str(tmp_path)).home == tmp_path


@pytest.mark.parametrize("make,message", [
    (lambda: ChunkingConfig(target_tokens=8), "target_tokens=8"),
    (lambda: ChunkingConfig(target_tokens=100, overlap_tokens=60), "overlap_tokens=60"),
    (lambda: RetrievalConfig(candidates=0), "candidates=0"),
    (lambda: RetrievalConfig(refresh_seconds=-1), "refresh_seconds=-1"),
    (lambda: AnswerConfig(k=0), "k=0"),
    (lambda: AnswerConfig(mode="fuzzy"), "mode 'fuzzy'"),
    (lambda: AnswerConfig(min_support=2), "min_support=2"),
    (lambda: GenerationParams(max_new_tokens=0), "max_new_tokens=0"),
    (lambda: GenerationParams(temperature=-1), "temperature=-1"),
    (lambda: GeneratorConfig(base_url="localhost:8000"), "expected http"),
])
def test_bad_values_are_named(make, message):
    with pytest.raises(ConfigError, match=message):
        make()
