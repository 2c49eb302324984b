"""Expand the paths given to ingest/sync into named sources and documents with stable ids.

Every path given is a source: a folder, a single file or a corpus file, named by ``--source`` or by default after
the path (a folder's name, a file's stem). Document ids: a file's source name and path inside the source
(``docs/guide/intro.md``; ``notes/notes.md`` for a single file ``notes.md``), so two folders that both hold a
``notes.md`` never collide; a corpus line's own ``id`` (corpus ids are global: eval sets name them as gold
documents). Hidden files and folders (``.git``, ``.ragtune``) are skipped, as are files of unsupported types
inside folders. Problems with one file (unreadable, over a limit of :class:`IngestConfig`, malformed) become a
per-file failure so the rest still ingest; a path that does not exist, an explicitly named unsupported file, or
two inputs claiming one id stop the run before anything is written.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ragtune.config import IngestConfig
from ragtune.errors import InputError
from ragtune.ingest.corpus import CorpusRecord, read_corpus
from ragtune.ingest.limits import read_limited
from ragtune.ingest.parsers import SUPPORTED_EXTENSIONS, parse_file
from ragtune.types import Block, ParsedDocument

CORPUS_EXTENSION = ".jsonl"


@dataclass(frozen=True)
class SourceRef:
    """One document to ingest: a file to parse (``on_disk``: its path is ``source_path``), or a corpus record
    already in memory."""

    doc_id: str
    source_path: str
    on_disk: bool = False
    record: CorpusRecord | None = None
    source: str = ""

    @property
    def file(self) -> Path | None:
        # made when asked: a sync of an unchanged folder never needs one (10,000 Paths cost 0.1 s)
        return Path(self.source_path) if self.on_disk else None

    def raw(self, limits: IngestConfig) -> bytes:
        """The content whose hash decides "unchanged"; a file over the size limit is refused unread."""
        if self.record is not None:
            return self.record.raw
        return read_limited(Path(self.source_path), self.source_path, limits.max_file_bytes)

    @property
    def format(self) -> str:
        file = self.file
        return "jsonl" if self.record is not None else (file.suffix.lower().lstrip(".") if file else "")

    def parse(self, limits: IngestConfig) -> ParsedDocument:
        if self.record is not None:
            paragraphs = [p for p in self.record.text.replace("\r\n", "\n").split("\n\n") if p.strip()]
            return ParsedDocument(self.record.title, tuple(Block("paragraph", p) for p in paragraphs))
        return parse_file(Path(self.source_path), limits)

    @property
    def metadata(self) -> dict[str, str]:
        if self.record is not None:
            return dict(self.record.metadata)
        return {"format": self.format}


@dataclass(frozen=True)
class SourceFailure:
    source: str
    reason: str

    @property
    def message(self) -> str:
        return self.reason if self.reason.startswith(self.source) else f"{self.source}: {self.reason}"


@dataclass(frozen=True)
class SourceRoot:
    """A named root the documents came from."""

    name: str
    root: Path  # absolute
    kind: str  # "folder" | "file" | "corpus"


@dataclass(frozen=True)
class ExpandedSources:
    refs: list[SourceRef]
    failures: list[SourceFailure]
    skipped: int  # files inside folders whose type ragtune does not read
    roots: list[SourceRoot]


_SOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def check_source_name(name: str) -> str:
    if not _SOURCE_NAME.fullmatch(name):
        raise InputError(f"source name {name!r}: use letters, digits, '.', '_' or '-' (up to 64 characters, "
                         "starting with a letter or digit)")
    return name


def default_source_name(path: Path) -> str:
    """A folder's name, or a file's stem, made a valid source name."""
    resolved = path.resolve()
    raw = resolved.name if resolved.is_dir() else resolved.stem
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", raw).strip("-._")[:64]
    return name or "root"


def _is_hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _folder_files(root: Path) -> list[tuple[str, ...]]:
    """The path inside ``root`` (as its parts) of every file under it, in the order paths sort: hidden files
    and everything in hidden folders left out (never listed: a ``.git`` folder can hold more files than the
    docs), symlinks to files kept, symlinked folders not followed, a folder that cannot be listed passed
    over — what ``Path.rglob`` gives, filtered, at a fraction of its cost (10,000 files: a sync had spent
    most of its time here, in pathlib)."""
    found: list[tuple[str, ...]] = []
    folders: list[tuple[str, ...]] = [()]
    while folders:
        parts = folders.pop()
        try:
            with os.scandir(root.joinpath(*parts)) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            folders.append((*parts, entry.name))
                        elif entry.is_file():
                            found.append((*parts, entry.name))
                    except OSError:  # gone, or a link whose target cannot be stat-ed: not a file to read
                        continue
        except OSError:
            continue
    return sorted(found)


def _suffix(name: str) -> str:
    """``Path(name).suffix.lower()`` without making a Path."""
    dot = name.rfind(".")
    return name[dot:].lower() if 0 < dot < len(name) - 1 else ""


def _corpus_refs(path: Path, shown: str, source: str, limits: IngestConfig) -> list[SourceRef]:
    # A corpus is streamed line by line, so the file may be any size; each line is one document and gets the
    # one-document size limit.
    return [SourceRef(r.doc_id, shown, record=r, source=source)
            for r in read_corpus(path, max_line_bytes=limits.max_file_bytes)]


def expand_sources(paths: Sequence[Path], source: str | None = None,
                   limits: IngestConfig | None = None) -> ExpandedSources:
    """Each path is one source, named ``source`` (only with a single path) or after the path."""
    limits = limits or IngestConfig()
    if not paths:
        raise InputError("no paths given: name files, folders or corpus .jsonl files to ingest")
    if source is not None and len(paths) > 1:
        raise InputError(f"--source {source}: names one source; give one path with it (got {len(paths)})")
    refs: list[SourceRef] = []
    failures: list[SourceFailure] = []
    roots: list[SourceRoot] = []
    skipped = 0
    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such file or folder")
        name = check_source_name(source) if source is not None else default_source_name(path)
        if path.is_dir():
            roots.append(SourceRoot(name, path.resolve(), "folder"))
            # the prefix str(path / inside) would give, without a Path per file
            folder = str(path).rstrip("/") + "/" if str(path) != "." else ""
            for parts in _folder_files(path):
                inside = "/".join(parts)
                suffix = _suffix(parts[-1])
                shown = folder + inside
                if suffix == CORPUS_EXTENSION:
                    try:
                        refs.extend(_corpus_refs(Path(shown), shown, name, limits))
                    except InputError as exc:
                        failures.append(SourceFailure(shown, str(exc)))
                elif suffix in SUPPORTED_EXTENSIONS:
                    refs.append(SourceRef(f"{name}/{inside}", shown, on_disk=True, source=name))
                else:
                    skipped += 1
        elif path.suffix.lower() == CORPUS_EXTENSION:
            roots.append(SourceRoot(name, path.resolve(), "corpus"))
            try:
                refs.extend(_corpus_refs(path, str(path), name, limits))
            except InputError as exc:
                failures.append(SourceFailure(str(path), str(exc)))
        elif path.suffix.lower() in SUPPORTED_EXTENSIONS:
            roots.append(SourceRoot(name, path.resolve(), "file"))
            refs.append(SourceRef(f"{name}/{path.name}", str(path), on_disk=True, source=name))
        else:
            supported = ", ".join(sorted(SUPPORTED_EXTENSIONS | {CORPUS_EXTENSION}))
            raise InputError(f"{path}: unsupported file type {path.suffix or '(none)'!r}; supported: {supported}")
    names = [r.name for r in roots]
    if len(set(names)) < len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise InputError(f"two paths would both be source {twice!r}: ingest them one at a time with --source NAME")
    _check_unique(refs)
    return ExpandedSources(refs, failures, skipped, roots)


def _check_unique(refs: list[SourceRef]) -> None:
    first: dict[str, SourceRef] = {}
    for ref in refs:
        other = first.setdefault(ref.doc_id, ref)
        if other is not ref:
            raise InputError(
                f"document id {ref.doc_id!r} comes from both {other.source_path} and {ref.source_path}: "
                "ingest them separately or rename one"
            )


def file_in_folder(folder: Path, file: Path, source: str) -> ExpandedSources:
    """One file of a folder source, ingested alone: the id and source root are the ones a sync of the whole folder
    would give it (``<source>/<path inside folder>``), so later syncs of the folder agree with it."""
    check_source_name(source)
    relative = file.resolve().relative_to(folder.resolve())
    if file.suffix.lower() not in SUPPORTED_EXTENSIONS or _is_hidden(relative):
        raise InputError(f"{file.name}: not a file a folder sync would read")
    ref = SourceRef(f"{source}/{relative.as_posix()}", str(file), on_disk=True, source=source)
    return ExpandedSources([ref], [], 0, [SourceRoot(source, folder.resolve(), "folder")])
