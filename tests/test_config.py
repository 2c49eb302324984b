"""Settings validate themselves on construction and name the bad value."""

from pathlib import Path

import pytest

from ragtune.config import (
    AnswerConfig,
    ChunkingConfig,
    GeneratorConfig,
    IngestConfig,
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
    (lambda: RetrievalConfig(fusion="borda"), "fusion='borda': must be one of zscore, rrf"),
    (lambda: RetrievalConfig(refresh_seconds=-1), "refresh_seconds=-1"),
    (lambda: AnswerConfig(k=0), "k=0"),
    (lambda: AnswerConfig(mode="fuzzy"), "mode 'fuzzy'"),
    (lambda: AnswerConfig(min_support=2), "min_support=2"),
    (lambda: GenerationParams(max_new_tokens=0), "max_new_tokens=0"),
    (lambda: GenerationParams(temperature=-1), "temperature=-1"),
    (lambda: GeneratorConfig(base_url="localhost:8000"), "expected http"),
    (lambda: GeneratorConfig(dtype="float16"), "model dtype 'float16' .*must be one of float32, bfloat16"),
])
def test_bad_values_are_named(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


@pytest.mark.parametrize("name", ["RAGTUNE_MAX_FILE_MB", "RAGTUNE_MAX_PDF_PAGES", "RAGTUNE_MAX_PDF_SECONDS"])
@pytest.mark.parametrize("value", ["lots", "0", "-1"])
def test_ingest_limits_from_the_environment_are_checked_by_name(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"{name}='{value}'"):
        IngestConfig()


def test_ingest_limits_must_be_positive():
    with pytest.raises(ConfigError, match="max_pdf_pages=0"):
        IngestConfig(max_pdf_pages=0)


def test_the_model_precision_comes_from_the_environment(monkeypatch):
    assert GeneratorConfig().dtype == "float32"
    monkeypatch.setenv("RAGTUNE_MODEL_DTYPE", "bfloat16")
    assert GeneratorConfig().dtype == "bfloat16"
    monkeypatch.setenv("RAGTUNE_MODEL_DTYPE", "half")
    with pytest.raises(ConfigError, match="RAGTUNE_MODEL_DTYPE"):
        GeneratorConfig()
