"""Documents sent over the API: stored as files under ``RAGTUNE_HOME/uploads/<source>/`` and indexed as documents
of that folder source, so a later ``sync`` of the source agrees with what was uploaded.

Who may do what (``viewer`` None is the local user, who may do everything):
- an upload takes the uploader's groups unless it names others; a non-admin key may only name groups it holds;
- a non-admin key may replace or delete an uploaded document only when it can see it and holds every one of its
  groups (replacing a shared document must not take it away from a group the uploader is not in); admin keys
  may delete any document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ragtune.components.documents import DocumentIndex
from ragtune.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    TooLargeError,
    UnsupportedTypeError,
)
from ragtune.files import write_atomic
from ragtune.ingest.parsers import SUPPORTED_EXTENSIONS
from ragtune.ingest.sources import check_source_name
from ragtune.keys import parse_groups
from ragtune.store.base import DocumentRecord
from ragtune.types import Viewer

UPLOAD_EXTENSIONS = frozenset(SUPPORTED_EXTENSIONS)  # a corpus .jsonl could claim any document id: not uploadable
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(filename: str) -> str:
    """The last path component of a client's file name, reduced to letters, digits, '.', '_' and '-', with no
    leading dot (hidden files are skipped by folder syncs): never a path, so it cannot leave the upload folder."""
    base = re.split(r"[\\/]", filename or "")[-1]
    name = _UNSAFE.sub("-", base).strip("-.")[:120]
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem.strip("-._"):
        raise InputError(f"file name {filename!r}: give the file a name with an extension, e.g. notes.md")
    return name


@dataclass(frozen=True)
class UploadResult:
    doc_id: str
    source: str
    version: str
    chunks: int
    groups: tuple[str, ...]
    unchanged: bool
    updated: bool

    def to_json(self) -> dict:
        return {"id": self.doc_id, "source": self.source, "version": self.version, "chunks": self.chunks,
                "groups": list(self.groups), "unchanged": self.unchanged, "updated": self.updated}


class Uploads:
    def __init__(self, documents: DocumentIndex, root: Path) -> None:
        self.documents = documents
        self.root = root
        self.max_bytes = documents.settings.ingest.max_file_bytes

    def folder(self, source: str) -> Path:
        return self.root / check_source_name(source)

    def check_type(self, filename: str) -> str:
        """The safe name, if ragtune ingests that type (checked before the body is read)."""
        name = safe_name(filename)
        if Path(name).suffix.lower() not in UPLOAD_EXTENSIONS:
            raise UnsupportedTypeError(f"{name}: unsupported file type; upload one of "
                                       f"{', '.join(sorted(UPLOAD_EXTENSIONS))}")
        return name

    def add(self, filename: str, data: bytes, *, source: str = "uploads", groups: str | Sequence[str] | None = None,
            viewer: Viewer | None = None) -> UploadResult:
        """Store and index one file; returns once it is listed and searchable."""
        name = self.check_type(filename)
        if len(data) > self.max_bytes:
            raise TooLargeError(f"{name}: {len(data)} bytes is over the {self.max_bytes}-byte limit "
                                "(RAGTUNE_MAX_FILE_MB)")
        wanted = self._groups(groups, viewer)
        folder = self.folder(source)
        self._check_source(source, folder)
        doc_id = f"{source}/{name}"
        existing = self.documents.store.get_document(doc_id)
        if existing is not None and not self.may_change(existing, viewer):
            raise ConflictError(f"a document named {doc_id!r} exists that this key may not replace: upload it under "
                                "another name")
        path = folder / name
        previous = path.read_bytes() if path.exists() else None
        write_atomic(path, data)
        try:
            report = self.documents.ingest_folder_file(folder, path, source, wanted)
        except BaseException:
            self._restore(path, previous)
            raise
        if report.failed:
            self._restore(path, previous)
            raise InputError(f"{name}: {report.failed[0].reason}")
        stored = self.documents.store.get_document(doc_id)
        assert stored is not None
        return UploadResult(doc_id, source, stored.version, stored.n_chunks, stored.groups,
                            unchanged=report.unchanged > 0, updated=report.updated > 0)

    def delete(self, doc_id: str, viewer: Viewer | None = None) -> None:
        """Remove a document (and its uploaded file). Admin keys and the local user: any document; other keys:
        uploaded documents they may change (not visible → not found, visible → permission denied)."""
        record = self.documents.document(doc_id, viewer)
        if record is None:
            raise NotFoundError(f"document {doc_id!r} not found")
        upload = self._upload_file(record)
        if viewer is not None and not viewer.admin and (upload is None or not self.may_change(record, viewer)):
            raise PermissionDeniedError(f"document {doc_id!r}: this key may delete only uploaded documents whose "
                                        "groups it holds")
        self.documents.remove_documents([doc_id])
        if upload is not None:
            upload.unlink(missing_ok=True)

    @staticmethod
    def may_change(record: DocumentRecord, viewer: Viewer | None) -> bool:
        if viewer is None or viewer.admin:
            return True
        return viewer.sees(record.groups) and set(record.groups) <= viewer.groups

    def _groups(self, groups: str | Sequence[str] | None, viewer: Viewer | None) -> tuple[str, ...]:
        if groups is None or (isinstance(groups, str) and not groups.strip()):
            return tuple(sorted(viewer.groups)) if viewer is not None else ()
        wanted = parse_groups(groups)
        if viewer is not None and not viewer.admin and not set(wanted) <= viewer.groups:
            raise PermissionDeniedError(f"groups {', '.join(sorted(set(wanted) - viewer.groups))}: this key does "
                                        "not hold them; give only groups the key holds")
        return wanted

    def _check_source(self, source: str, folder: Path) -> None:
        known = next((s for s in self.documents.store.sources() if s.name == source), None)
        if known is not None and Path(known.root) != folder.resolve():
            raise ConflictError(f"source {source!r} holds documents ingested from {Path(known.root).name!r}, not "
                                "uploads: upload to another source name")

    def _upload_file(self, record: DocumentRecord) -> Path | None:
        """The stored file of an uploaded document, or None when the document did not come from an upload."""
        known = next((s for s in self.documents.store.sources() if s.name == record.source), None)
        if known is None or Path(known.root) != (self.root / record.source).resolve():
            return None
        path = (self.root / record.doc_id).resolve()
        return path if path.parent == Path(known.root) else None

    @staticmethod
    def _restore(path: Path, previous: bytes | None) -> None:
        if previous is None:
            path.unlink(missing_ok=True)
        else:
            write_atomic(path, previous)
