"""Typed records passed between stages. All frozen: a stage returns new values, never mutates its input."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Mapping

BlockKind = Literal["heading", "paragraph", "list_item", "code", "table", "quote"]
SearchMode = Literal["hybrid", "bm25", "dense"]
SEARCH_MODES: tuple[SearchMode, ...] = ("hybrid", "bm25", "dense")


@dataclass(frozen=True)
class Block:
    """One structural unit of a parsed document, in reading order.

    ``level`` is the heading level (1–6) for headings and 0 otherwise. ``text`` is raw extracted text; the
    normalizer decides whitespace, so parsers do not have to.
    """

    kind: BlockKind
    text: str
    level: int = 0


@dataclass(frozen=True)
class ParsedDocument:
    """What a parser returns: a title (may be empty) and the blocks in reading order."""

    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class SourceDocument:
    """A document read from disk (file or one corpus line) before normalization.

    ``fingerprint_input`` is the raw content that decides whether the document changed since it was indexed
    (file bytes, or the canonical JSON of a corpus line).
    """

    doc_id: str
    source_path: str
    parsed: ParsedDocument
    metadata: Mapping[str, str]
    fingerprint_input: bytes


@dataclass(frozen=True)
class Section:
    """A span of the normalized text that came from one block; offsets index ``Document.text``."""

    start: int
    end: int
    kind: BlockKind
    heading_path: tuple[str, ...]


@dataclass(frozen=True)
class Document:
    """A normalized document: ``version`` is the sha256 of ``text``."""

    doc_id: str
    version: str
    text: str
    title: str
    source_path: str
    metadata: Mapping[str, str]
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class Chunk:
    """A retrievable span: ``document.text[start:end] == text``."""

    chunk_id: str
    doc_id: str
    doc_version: str
    ordinal: int
    text: str
    start: int
    end: int
    heading_path: tuple[str, ...]
    source_path: str
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    """A ranked search result with the per-mode evidence behind its rank.

    ``scores`` holds the raw score of each retriever that found the chunk (``bm25``, ``dense``) and, in hybrid
    mode, the fused ``rrf`` score; ``ranks`` holds the 1-based rank in each retriever's list.
    """

    chunk: Chunk
    score: float
    scores: Mapping[str, float]
    ranks: Mapping[str, int]
