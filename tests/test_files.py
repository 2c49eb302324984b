"""Atomic writes: the target is either the old content or the new, never a partial one."""

from __future__ import annotations

import os

import pytest

from ragtune.errors import InputError
from ragtune.files import file_sha256, replace_dir, timestamp_settled, write_atomic, write_new_dir


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


def fill(files: dict[str, str], fail_after: int | None = None):
    """A write callback that creates the folder and its files, raising after ``fail_after`` of them."""

    def write(folder):
        folder.mkdir()
        for i, (name, text) in enumerate(files.items()):
            if i == fail_after:
                raise RuntimeError("killed mid-write")
            (folder / name).write_text(text)

    return write


def test_write_new_dir_creates_a_new_folder_whole(tmp_path):
    target = tmp_path / "a" / "b" / "out"
    write_new_dir(target, fill({"x.txt": "1", "y.txt": "2"}))
    assert sorted(p.name for p in target.iterdir()) == ["x.txt", "y.txt"]
    assert [p.name for p in target.parent.iterdir()] == ["out"]  # no staging folder left


def test_write_new_dir_fills_an_empty_folder_the_user_made_without_replacing_it(tmp_path):
    target = tmp_path / "mine"
    target.mkdir(mode=0o750)
    before = target.stat()
    write_new_dir(target, fill({"x.txt": "1"}))
    after = target.stat()
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)  # the same folder, not a new one
    assert (target / "x.txt").read_text() == "1"


def test_write_new_dir_refuses_a_non_empty_folder_or_a_file_and_touches_nothing(tmp_path):
    folder = tmp_path / "full"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    plain_file = tmp_path / "file.txt"
    plain_file.write_text("mine too")
    for target in (folder, plain_file):
        with pytest.raises(InputError, match="exists and is not an empty folder"):
            write_new_dir(target, fill({"x.txt": "1"}))
    assert [p.name for p in folder.iterdir()] == ["keep.txt"] and plain_file.read_text() == "mine too"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt", "full"]


def test_a_failed_write_new_dir_leaves_the_users_empty_folder_as_it_was(tmp_path):
    target = tmp_path / "mine"
    target.mkdir()
    inode = target.stat().st_ino
    with pytest.raises(RuntimeError):
        write_new_dir(target, fill({"x.txt": "1", "y.txt": "2"}, fail_after=1))
    assert target.is_dir() and target.stat().st_ino == inode and list(target.iterdir()) == []
    assert [p.name for p in tmp_path.iterdir()] == ["mine"]


def test_a_failed_move_into_the_users_folder_takes_back_what_it_moved(tmp_path, monkeypatch):
    target = tmp_path / "mine"
    target.mkdir()
    real_replace, calls = os.replace, []

    def second_move_fails(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr("ragtune.files.os.replace", second_move_fails)
    with pytest.raises(OSError):
        write_new_dir(target, fill({"a.txt": "1", "b.txt": "2"}))
    assert target.is_dir() and list(target.iterdir()) == []
    assert [p.name for p in tmp_path.iterdir()] == ["mine"]


def test_a_failed_write_new_dir_removes_the_parents_it_created_and_only_those(tmp_path):
    (tmp_path / "existing").mkdir()
    target = tmp_path / "existing" / "new1" / "new2" / "out"
    with pytest.raises(RuntimeError):
        write_new_dir(target, fill({"x.txt": "1"}, fail_after=0))
    assert (tmp_path / "existing").is_dir() and list((tmp_path / "existing").iterdir()) == []


def test_whole_second_timestamps_need_seconds_to_settle_and_fine_ones_a_tenth():
    second = 1_700_000_000 * 10**9
    assert not timestamp_settled(second, second + 1_900_000_000)
    assert timestamp_settled(second, second + 2_000_000_000)
    fine = second + 123_456_789
    assert not timestamp_settled(fine, fine + 90_000_000) and timestamp_settled(fine, fine + 100_000_000)
    assert not timestamp_settled(fine, fine - 1)  # modified after the check began
