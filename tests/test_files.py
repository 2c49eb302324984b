"""Atomic writes: the target is either the old content or the new, never a partial one."""

from __future__ import annotations

import pytest

from ragtune.files import file_sha256, replace_dir, write_atomic


def test_write_atomic_replaces_the_whole_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "deep" / "report.html"
    write_atomic(target, "old")
    write_atomic(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "data.json"
    write_atomic(target, "old")

    def crash(*_args):
        raise OSError("disk full")

    monkeypatch.setattr("ragtune.files.os.replace", crash)
    with pytest.raises(OSError):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["data.json"]


def test_replace_dir_swaps_in_the_new_folder_whole(tmp_path):
    target = tmp_path / "adapter"
    replace_dir(target, lambda d: (d.mkdir(), (d / "a.txt").write_text("1")))
    replace_dir(target, lambda d: (d.mkdir(), (d / "b.txt").write_text("2")))
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["adapter"]


def test_replace_dir_keeps_the_old_folder_when_writing_fails(tmp_path):
    target = tmp_path / "adapter"
    replace_dir(target, lambda d: (d.mkdir(), (d / "a.txt").write_text("1")))

    def broken(folder):
        folder.mkdir()
        (folder / "half").write_text("x")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        replace_dir(target, broken)
    assert sorted(p.name for p in target.iterdir()) == ["a.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["adapter"]  # no staging folder left


def test_file_sha256_is_the_hash_of_the_bytes(tmp_path):
    import hashlib

    path = tmp_path / "w.bin"
    path.write_bytes(b"\x00weights" * 100_000)
    assert file_sha256(path, chunk=4096) == hashlib.sha256(path.read_bytes()).hexdigest()
