"""Which backend runs the embedder: the setting, ``auto``, and what an existing index was built with."""

from __future__ import annotations

import pytest

from ragtune.config import Settings
from ragtune.errors import ConfigError
from ragtune.models import embedder as embedder_module
from ragtune.models.embedder import (
    CPU_BACKEND,
    backend_for_index,
    base_model_id,
    embedder_id,
    load_embedder,
    resolve_backend,
)

FLOAT_ID, INT8_ID = "all-MiniLM-L6-v2", "all-MiniLM-L6-v2+onnx-int8"


def test_auto_is_the_measured_cpu_default_on_a_cpu_and_torch_on_a_gpu():
    assert resolve_backend("auto", "cpu") == CPU_BACKEND
    assert resolve_backend("auto", "cuda") == resolve_backend("auto", "cuda:1") == "torch"
    for backend in ("torch", "onnx", "onnx-int8"):
        assert resolve_backend(backend, "cpu") == resolve_backend(backend, "cuda") == backend


def test_auto_without_a_device_asks_whether_a_gpu_is_there(monkeypatch):
    monkeypatch.setattr(embedder_module, "_gpu_possible", lambda: True)
    assert resolve_backend("auto", None) == "torch"
    monkeypatch.setattr(embedder_module, "_gpu_possible", lambda: False)
    assert resolve_backend("auto", None) == CPU_BACKEND


def test_only_int8_vectors_get_their_own_model_id():
    assert embedder_id("default", "torch") == embedder_id("default", "onnx") == FLOAT_ID
    assert embedder_id("default", "onnx-int8") == INT8_ID
    assert embedder_id("/models/my-e5/", "onnx-int8") == "my-e5+onnx-int8" and base_model_id("~/m/e5") == "e5"


@pytest.mark.parametrize(("recorded", "configured", "device", "opens_with"), [
    (None, "onnx-int8", "cpu", "onnx-int8"),  # a new index: the setting decides
    (None, "auto", "cpu", CPU_BACKEND),
    (FLOAT_ID, "onnx-int8", "cpu", "onnx"),  # built with the float model: a float backend, the fast one
    (FLOAT_ID, "onnx-int8", "cuda", "torch"),
    (FLOAT_ID, "torch", "cpu", "torch"),  # a float backend the user chose is kept
    (FLOAT_ID, "onnx", "cpu", "onnx"),
    (INT8_ID, "torch", "cpu", "onnx-int8"),  # built with int8 vectors: only int8 matches them
    (INT8_ID, "auto", "cuda", "onnx-int8"),
    ("some-other-model", "auto", "cpu", CPU_BACKEND),  # another model: the store's check names it
])
def test_an_existing_index_keeps_the_vectors_it_was_built_with(recorded, configured, device, opens_with):
    assert backend_for_index(recorded, "default", configured, device) == opens_with


@pytest.mark.parametrize("bad", ["fast", "ONNX", "onnx_int8", " torch"])
def test_a_bad_backend_is_a_one_line_config_error(bad, monkeypatch):
    with pytest.raises(ConfigError, match="embedder_backend .*must be one of auto, torch, onnx, onnx-int8") as exc:
        Settings(embedder_backend=bad)
    assert "\n" not in str(exc.value)
    monkeypatch.setenv("RAGTUNE_EMBEDDER_BACKEND", bad)
    with pytest.raises(ConfigError, match="RAGTUNE_EMBEDDER_BACKEND"):
        Settings()
    with pytest.raises(ConfigError, match="must be one of"):
        load_embedder("default", "cpu", bad)


def test_the_environment_sets_the_backend(monkeypatch):
    monkeypatch.delenv("RAGTUNE_EMBEDDER_BACKEND", raising=False)
    assert Settings().embedder_backend == "auto"
    monkeypatch.setenv("RAGTUNE_EMBEDDER_BACKEND", "onnx-int8")
    assert Settings().embedder_backend == "onnx-int8"


def test_building_an_embedder_loads_no_model():
    embedder = load_embedder("default", "cpu", "onnx-int8")
    assert embedder.model_id == INT8_ID and embedder.dim == 384 and embedder._session is None
