"""File helpers: content hashes of files, and atomic writes — a reader never sees half a file or half a folder, and a crash mid-write leaves the old one.

Everything ragtune writes for users or for itself to read back (reports, registry metadata, training rows,
adapters, converted models) goes through these two functions.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Callable


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

    The staging folder is hidden (``.NAME.PID.tmp``) and per process, so two processes building the same folder
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


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()
