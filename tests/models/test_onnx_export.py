"""The ONNX export cache: keyed by the source's hash, reused, and never left half-written (no model needed:
the export step itself is replaced by a stand-in that writes files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragtune.models import onnx_export
from ragtune.models.onnx_export import (
    MARKER,
    cpu_flags,
    export_dir,
    exported_embedder,
    int8_file,
    source_hash,
)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny-model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"hidden_size": 8}))
    (folder / "tokenizer.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"weights v1")
    return folder


@pytest.fixture
def exports(monkeypatch, tmp_path: Path) -> list[Path]:
    """Replaces the real export with one that writes the same files and records each call."""
    monkeypatch.setenv("RAGTUNE_CACHE", str(tmp_path / "cache"))
    calls: list[Path] = []

    def fake_export(source: Path, digest: str, staging: Path) -> None:
        calls.append(staging)
        staging.mkdir(parents=True)
        (staging / onnx_export.FLOAT_FILE).write_bytes(b"float")
        (staging / onnx_export.INT8_FILE).write_bytes(b"int8")
        (staging / onnx_export.INT8_VNNI_FILE).write_bytes(b"int8 vnni")
        (staging / MARKER).write_text(json.dumps({"source_hash": digest, "max_seq_length": 256}))

    monkeypatch.setattr(onnx_export, "_export", fake_export)
    return calls


def test_the_export_is_made_once_and_reused(source, exports, tmp_path, monkeypatch):
    monkeypatch.setattr(onnx_export, "cpu_flags", lambda: frozenset({"avx2"}))
    first = exported_embedder(source)
    second = exported_embedder(source)
    assert len(exports) == 1 and first == second
    assert first.folder.parent == tmp_path / "cache" / "embedders"
    assert first.float_model.read_bytes() == b"float" and first.int8_model.read_bytes() == b"int8"
    assert first.source_hash == source_hash(source) and first.max_seq_length == 256


def test_a_changed_source_model_gets_a_new_export(source, exports):
    before = exported_embedder(source).folder
    (source / "model.safetensors").write_bytes(b"weights v2")
    after = exported_embedder(source).folder
    assert after != before and len(exports) == 2 and before.exists()


def test_an_interrupted_export_leaves_nothing_half_written(source, exports, monkeypatch):
    def dies_halfway(source: Path, digest: str, staging: Path) -> None:
        staging.mkdir(parents=True)
        (staging / onnx_export.FLOAT_FILE).write_bytes(b"half of a model")
        raise KeyboardInterrupt

    monkeypatch.setattr(onnx_export, "_export", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        exported_embedder(source)
    target = export_dir(source)
    assert not target.exists()
    assert [p.name for p in target.parent.iterdir() if not p.name.endswith(".lock")] == []


def test_a_failed_export_is_a_model_error_that_says_what_to_do(source, exports, monkeypatch):
    from ragtune.errors import ModelError

    def fails(source: Path, digest: str, staging: Path) -> None:
        staging.mkdir(parents=True)
        raise RuntimeError("unsupported operator")

    monkeypatch.setattr(onnx_export, "_export", fails)
    with pytest.raises(ModelError, match="unsupported operator.*RAGTUNE_EMBEDDER_BACKEND=torch"):
        exported_embedder(source)
    assert not export_dir(source).exists()


def test_a_folder_without_its_marker_is_not_trusted(source, exports):
    target = export_dir(source)
    target.mkdir(parents=True)
    (target / onnx_export.FLOAT_FILE).write_bytes(b"left by something else")
    exported = exported_embedder(source)
    assert len(exports) == 1 and exported.float_model.read_bytes() == b"float"


def test_a_cpu_with_vnni_runs_the_vnni_int8_copy_and_any_other_the_portable_one(source, exports, monkeypatch):
    assert int8_file(frozenset({"sse4_2", "avx2", "avx512_vnni"})) == onnx_export.INT8_VNNI_FILE
    assert int8_file(frozenset({"avx2", "avx_vnni"})) == onnx_export.INT8_VNNI_FILE
    # AVX-512 without VNNI still multiplies into saturating 16-bit sums
    assert int8_file(frozenset({"avx2", "avx512f", "avx512bw"})) == onnx_export.INT8_FILE
    assert int8_file(frozenset()) == onnx_export.INT8_FILE  # flags unknown (not Linux): the portable copy
    exported = exported_embedder(source)
    monkeypatch.setattr(onnx_export, "cpu_flags", lambda: frozenset({"avx512_vnni"}))
    assert exported.int8_model.read_bytes() == b"int8 vnni"
    monkeypatch.setattr(onnx_export, "cpu_flags", lambda: frozenset({"neon"}))
    assert exported.int8_model.read_bytes() == b"int8"


@pytest.mark.skipif(not Path("/proc/cpuinfo").exists(), reason="reads Linux's /proc/cpuinfo")
def test_cpu_flags_are_read_from_linux():
    flags = cpu_flags()
    assert flags and all(flag == flag.strip() and flag for flag in flags)
