"""`adapters export`: the merged model goes into a new or empty folder, and the user's folder is never removed —
not when it exists empty, not when the export fails. The model is faked: what is tested is the folder handling."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragtune.errors import InputError
from ragtune.finetune import export
from ragtune.finetune.registry import AdapterRecord

RECORD = AdapterRecord("e2e-v1", "e2e", 1, "2026-01-01T00:00:00+00:00", Path("/nowhere/e2e-v1"),
                       {"model": "default", "id": "SmolLM2"}, {}, {}, {})


class FakeModel:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def save_pretrained(self, folder: str) -> None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / "model.safetensors").write_bytes(b"weights")
        if self.fail:
            raise OSError("disk full")


class FakeTokenizer:
    def save_pretrained(self, folder: str) -> None:
        (Path(folder) / "tokenizer.json").write_text("{}")


class Loads:
    """Stands in for model loading: counts loads (a refusal must load nothing); ``fail`` makes saving fail."""

    def __init__(self) -> None:
        self.calls: list[Path] = []
        self.fail = False

    def __call__(self, record: AdapterRecord, model_dir: Path) -> tuple[FakeModel, FakeTokenizer]:
        self.calls.append(model_dir)
        return FakeModel(fail=self.fail), FakeTokenizer()


@pytest.fixture
def loads(monkeypatch) -> Loads:
    fake = Loads()
    monkeypatch.setattr(export, "_load_merged", fake)
    return fake


def test_export_into_a_new_folder(tmp_path: Path, loads):
    out = export.export_merged(RECORD, tmp_path / "base", tmp_path / "merged")
    assert sorted(p.name for p in out.iterdir()) == ["model.safetensors", "ragtune-adapter.json", "tokenizer.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["merged"]


def test_export_fills_an_empty_folder_the_user_made_and_keeps_it(tmp_path: Path, loads):
    mine = tmp_path / "mine"
    mine.mkdir()
    inode = mine.stat().st_ino
    export.export_merged(RECORD, tmp_path / "base", mine)
    assert mine.stat().st_ino == inode and (mine / "model.safetensors").exists()


def test_export_refuses_a_non_empty_folder_before_loading_the_model(tmp_path: Path, loads):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="mine: exists and is not an empty folder"):
        export.export_merged(RECORD, tmp_path / "base", mine)
    assert loads.calls == [] and [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_a_failed_export_leaves_the_users_empty_folder_as_it_was(tmp_path: Path, loads):
    mine = tmp_path / "mine"
    mine.mkdir()
    inode = mine.stat().st_ino
    loads.fail = True
    with pytest.raises(OSError, match="disk full"):
        export.export_merged(RECORD, tmp_path / "base", mine)
    assert mine.is_dir() and mine.stat().st_ino == inode and list(mine.iterdir()) == []
    assert [p.name for p in tmp_path.iterdir()] == ["mine"]  # no staging folder left beside it


def test_a_failed_export_to_a_new_folder_leaves_nothing(tmp_path: Path, loads):
    loads.fail = True
    with pytest.raises(OSError):
        export.export_merged(RECORD, tmp_path / "base", tmp_path / "new" / "merged")
    assert list(tmp_path.iterdir()) == []
