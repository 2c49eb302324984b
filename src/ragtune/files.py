"""File helpers: content hashes of files, and atomic writes — a reader never sees half a file or half a folder, and a crash mid-write leaves the old one.

Everything ragtune writes for users or for itself to read back (reports, registry metadata, training rows,
adapters, converted models) goes through these functions: ``write_atomic`` for a file, ``replace_dir`` for a
folder ragtune owns (it replaces an existing one), ``write_new_dir`` for a folder the user names as an output
(it never removes anything of the user's). ``timestamp_settled`` says when a modification time is old enough
to stand in for the content.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Callable

from ragtune.errors import InputError

# How old a modification time must be, when a file is checked, to pin what was read: file systems that keep
# whole seconds (FAT: 2 s, HFS+, some network mounts) get 2 s; ones that keep nanoseconds (ext4, xfs, btrfs,
# tmpfs, APFS, NTFS) stamp with a clock that moves in ticks of at most 10 ms, so 100 ms is ten of them.
COARSE_MARGIN_NS = 2_000_000_000
FINE_MARGIN_NS = 100_000_000


def timestamp_settled(mtime_ns: int, checked_ns: int) -> bool:
    """Whether a file (or folder) modified at ``mtime_ns`` and checked — ``stat``, then read — from
    ``checked_ns`` on cannot change again while keeping that modification time: the time is older than the
    file system's tick by a margin, so any later change stamps a later time. A time on a whole second says the
    file system may keep only seconds (on a fine one, 1 time in a few hundred: the long margin then only costs
    a re-read). Used where an unchanged timestamp stands in for unchanged content (the sync scan cache, the
    LanceDB store's latest version)."""
    coarse = mtime_ns % 1_000_000_000 == 0
    return checked_ns - mtime_ns >= (COARSE_MARGIN_NS if coarse else FINE_MARGIN_NS)


def write_atomic(path: str | Path, content: str | bytes) -> Path:
    """Write ``content`` to ``path`` via a temporary file in the same folder and ``os.replace``.

    A plain open (not ``tempfile``, which creates 0600 files) so the file gets the user's usual permissions; the
    pid in the temporary name keeps two concurrent writers from sharing one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if isinstance(content, bytes):
            temporary.write_bytes(content)
        else:
            temporary.write_text(content, encoding="utf-8")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def replace_dir(target: str | Path, write: Callable[[Path], None]) -> Path:
    """Let ``write`` fill a staging folder beside ``target``, then swap it in for ``target``.

    For folders ragtune owns (registry versions, checkpoints, the model cache): an existing ``target`` is
    removed. A folder the user names goes through :func:`write_new_dir` instead. The staging folder is hidden (``.NAME.PID.tmp``) and per process, so two processes building the same folder
    never write into one another's. Between removing the old folder and renaming the new one there is an instant
    with neither; a crash there leaves the complete staging folder behind, never a half-written target."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        write(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if target.exists():
        shutil.rmtree(target)
    os.replace(staging, target)
    return target


def write_new_dir(target: str | Path, write: Callable[[Path], None]) -> Path:
    """Let ``write`` create and fill a staging folder beside ``target``, then move the result to ``target``, which
    must not exist or be an empty folder.

    Never removes anything it did not create: an empty ``target`` the user made is kept (its permissions and
    identity too) and the results are moved into it; on failure the staging folder, whatever was already moved
    in, and parent folders this call created are removed, so ``target`` and its parents are as they were."""
    target = Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InputError(f"{target}: exists and is not an empty folder; choose a new folder")
    created = _missing_parents(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)  # ours: a leftover of this pid's earlier crash
    moved: list[Path] = []
    try:
        write(staging)
        if target.exists():
            for entry in sorted(staging.iterdir()):
                os.replace(entry, target / entry.name)
                moved.append(target / entry.name)
            staging.rmdir()
        else:
            os.replace(staging, target)
    except BaseException:
        for path in moved:  # ours: moved in by this call, into a folder that was empty
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)
        for folder in created:  # deepest first; only if still empty (rmdir refuses otherwise)
            try:
                folder.rmdir()
            except OSError:
                break
        raise
    return target


def _missing_parents(path: Path) -> list[Path]:
    """The ancestors of ``path`` that do not exist yet, deepest first (what ``mkdir(parents=True)`` creates)."""
    missing = []
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        missing.append(parent)
        parent = parent.parent
    return missing


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()
