"""The adapter registry: immutable versions, promotion only for adapters that beat few-shot, instant rollback."""

from __future__ import annotations

import json

import pytest

from ragtune.errors import InputError
from ragtune.finetune.registry import AdapterRegistry, promotion_check


def adapter_folder(tmp_path, name="trained"):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps({"r": 16}))
    (folder / "adapter_model.safetensors").write_bytes(b"weights")
    return folder


def register(registry, tmp_path, name="e2e", beats=True):
    record = registry.add(name, adapter_folder(tmp_path, f"src-{len(registry.list())}"),
                          base_model={"model": "default", "id": "SmolLM2", "hash": "abc"},
                          data={"n_train": 500}, hyperparameters={"r": 16}, training={"steps": 10})
    diff = {"mean": 0.5, "ci95": [0.4, 0.6], "n": 90} if beats else {"mean": -0.01, "ci95": [-0.05, 0.03], "n": 90}
    return registry.record_metrics(record.id, "eval", {"adapter_vs_few_shot": diff})


def test_versions_of_a_name_count_up_and_copy_the_weights(tmp_path):
    registry = AdapterRegistry(tmp_path / "adapters")
    first, second = register(registry, tmp_path), register(registry, tmp_path)
    assert (first.id, second.id) == ("e2e-v1", "e2e-v2")
    assert (second.path / "adapter_model.safetensors").read_bytes() == b"weights"
    assert [r.id for r in registry.list()] == ["e2e-v1", "e2e-v2"]
    assert registry.get("e2e-v1").data == {"n_train": 500}


def test_an_unknown_id_names_the_known_ones(tmp_path):
    registry = AdapterRegistry(tmp_path / "adapters")
    register(registry, tmp_path)
    with pytest.raises(InputError, match="'nope-v3' is not in the registry.*e2e-v1"):
        registry.get("nope-v3")


HOSTILE_IDS = ["../evil-v1", "../../evil-v1", "e2e-v1/../../evil-v1", "/tmp/evil-v1", "sub/e2e-v1", "..-v1",
               "e2e-v1\n", "E2E-v1", ""]


@pytest.mark.parametrize("adapter_id", HOSTILE_IDS)
@pytest.mark.parametrize("method", ["get", "snapshot", "promote", "record_metrics"])
def test_ids_that_are_paths_are_refused_before_touching_the_filesystem(tmp_path, adapter_id, method):
    registry = AdapterRegistry(tmp_path / "registry" / "adapters")
    register(registry, tmp_path)
    for outside in (tmp_path / "registry" / "evil-v1", tmp_path / "evil-v1"):  # what '..' would reach
        outside.mkdir(parents=True)
        (outside / "adapter.json").write_text((registry.get("e2e-v1").path / "adapter.json").read_text())
    call = {"get": lambda: registry.get(adapter_id), "snapshot": lambda: registry.snapshot(adapter_id),
            "promote": lambda: registry.promote(adapter_id, force=True),
            "record_metrics": lambda: registry.record_metrics(adapter_id, "eval", {})}[method]
    with pytest.raises(InputError, match="not a registry id; expected NAME-vN"):
        call()
    assert registry.promoted() is None


def test_bad_names_and_folders_are_refused(tmp_path):
    registry = AdapterRegistry(tmp_path / "adapters")
    with pytest.raises(InputError, match="adapter name 'Bad Name'"):
        registry.add("Bad Name", adapter_folder(tmp_path), base_model={}, data={}, hyperparameters={}, training={})
    for name in ("../up", "a/b", "ok\n"):
        with pytest.raises(InputError, match="adapter name"):
            registry.add(name, tmp_path, base_model={}, data={}, hyperparameters={}, training={})
    with pytest.raises(InputError, match="not a peft adapter folder"):
        registry.add("ok", tmp_path, base_model={}, data={}, hyperparameters={}, training={})
    assert registry.list() == []


def test_promote_then_rollback_walks_back_through_history(tmp_path):
    registry = AdapterRegistry(tmp_path / "adapters")
    v1, v2 = register(registry, tmp_path), register(registry, tmp_path)
    assert registry.promoted() is None
    registry.promote(v1.id)
    registry.promote(v2.id)
    assert registry.promoted().id == "e2e-v2"
    assert registry.rollback().id == "e2e-v1" and registry.promoted().id == "e2e-v1"
    assert registry.rollback() is None and registry.promoted() is None  # back to the base model
    with pytest.raises(InputError, match="nothing to roll back"):
        registry.rollback()


def test_promotion_is_refused_unless_the_adapter_beats_few_shot(tmp_path):
    registry = AdapterRegistry(tmp_path / "adapters")
    weak = register(registry, tmp_path, beats=False)
    assert "does not beat base few-shot" in promotion_check(weak)
    with pytest.raises(InputError, match="not promoting e2e-v1.*--force"):
        registry.promote(weak.id)
    assert registry.promoted() is None
    registry.promote(weak.id, force=True)
    assert registry.promoted().id == weak.id


def test_an_adapter_without_an_evaluation_is_not_promoted_by_default(tmp_path):
    registry = AdapterRegistry(tmp_path / "adapters")
    record = registry.add("x", adapter_folder(tmp_path), base_model={}, data={}, hyperparameters={}, training={})
    with pytest.raises(InputError, match="no before/after evaluation"):
        registry.promote(record.id)


def test_the_index_resolves_ids_folders_the_promoted_adapter_and_base(home, tmp_path, monkeypatch):
    from dataclasses import replace

    from ragtune import Workspace
    from ragtune.config import GeneratorConfig
    from ragtune.errors import ModelError
    from ragtune.testing import FakeEmbedder
    from ragtune.types import AdapterRef

    index = Workspace(home, embedder=FakeEmbedder())
    assert index.adapters.resolve(None) is None  # nothing promoted: the base model answers
    record = register(index.registry, tmp_path)
    index.registry.promote(record.id)
    assert index.adapters.resolve(None) == AdapterRef(record.path, "e2e-v1")
    assert index.adapters.resolve(None, promoted=False) is None
    assert index.adapters.resolve("base") is None
    assert index.adapters.resolve("e2e-v1") == AdapterRef(record.path, "e2e-v1")
    folder = adapter_folder(tmp_path, "loose")
    assert index.adapters.resolve(str(folder)) == AdapterRef(folder.resolve(), "loose")
    with pytest.raises(InputError, match="no adapter_config.json"):
        index.adapters.resolve(str(tmp_path / "nothing-here" / "x"))

    other = Workspace(settings=replace(index.settings, generator=GeneratorConfig(model=str(tmp_path / "other-model"))),
                  embedder=FakeEmbedder())
    with pytest.raises(ModelError, match="trained on base model 'default'"):
        other.adapters.resolve(None)
    server = Workspace(settings=replace(index.settings, generator=GeneratorConfig(base_url="http://127.0.0.1:9/v1")),
                   embedder=FakeEmbedder())
    assert server.adapters.resolve(None) is None  # a server backend cannot apply a local adapter
    with pytest.raises(ModelError, match="adapters apply to local models"):
        server.adapters.resolve("e2e-v1")
