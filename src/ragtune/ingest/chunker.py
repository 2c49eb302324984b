"""Structure-aware chunking with exact character spans.

A chunk is a contiguous span of the normalized document text, so ``doc.text[chunk.start:chunk.end] ==
chunk.text`` always holds and citations can point at characters. Blocks (paragraphs, list items, code, tables)
are packed greedily up to ``target_tokens``; a heading starts a new chunk; a block larger than the target is cut
into sentences, and a sentence larger than the target into word windows. A chunk closed for size repeats up to
``overlap_tokens`` of trailing sentences so an answer that straddles the cut is still found whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

from ragtune.config import ChunkingConfig
from ragtune.text import sentence_spans
from ragtune.types import Chunk, Document

TokenCounter = Callable[[Sequence[str]], list[int]]
"""Counts tokens for a batch of texts (the embedder's tokenizer in production)."""

_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class _Segment:
    start: int
    end: int
    tokens: int
    is_heading: bool
    heading_path: tuple[str, ...]


def _line_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans, cursor = [], start
    for line in text[start:end].split("\n"):
        if line.strip():
            spans.append((cursor, cursor + len(line)))
        cursor += len(line) + 1
    return spans


def _word_windows(
    text: str, start: int, end: int, limit: int, count: TokenCounter
) -> list[tuple[int, int, int]]:
    """Cut a span at word boundaries into windows of at most ``limit`` tokens (a single huge word stays whole)."""
    words = [(start + m.start(), start + m.end()) for m in _WORD.finditer(text[start:end])]
    sizes = count([text[s:e] for s, e in words])
    windows: list[tuple[int, int, int]] = []
    first, total = 0, 0
    for i, size in enumerate(sizes):
        if i > first and total + size > limit:
            windows.append((words[first][0], words[i - 1][1], total))
            first, total = i, 0
        total += size
    if words:
        windows.append((words[first][0], words[-1][1], total))
    return windows


def _segments(doc: Document, config: ChunkingConfig, count: TokenCounter) -> list[_Segment]:
    """The smallest units packing works with: whole blocks where they fit, else sentences, else word windows."""
    limit = config.target_tokens
    block_tokens = count([doc.text[s.start : s.end] for s in doc.sections])
    segments: list[_Segment] = []
    for section, tokens in zip(doc.sections, block_tokens):
        path = section.heading_path
        is_heading = section.kind == "heading"
        if tokens <= limit or is_heading and tokens <= 2 * limit:
            segments.append(_Segment(section.start, section.end, tokens, is_heading, path))
            continue
        splitter = _line_spans if section.kind in ("code", "table") else sentence_spans
        pieces = splitter(doc.text, section.start, section.end)
        piece_tokens = count([doc.text[s:e] for s, e in pieces])
        for (start, end), n in zip(pieces, piece_tokens):
            if n <= limit:
                segments.append(_Segment(start, end, n, False, path))
            else:
                for ws, we, wn in _word_windows(doc.text, start, end, limit, count):
                    segments.append(_Segment(ws, we, wn, False, path))
    return segments


def _overlap_tail(current: list[_Segment], budget: int) -> list[_Segment]:
    """Trailing non-heading segments of a closed chunk that fit in the overlap budget (never the whole chunk)."""
    tail: list[_Segment] = []
    used = 0
    for seg in reversed(current[1:]):
        if seg.is_heading or used + seg.tokens > budget:
            break
        tail.insert(0, seg)
        used += seg.tokens
    return tail


def _pack(segments: list[_Segment], config: ChunkingConfig) -> list[list[_Segment]]:
    groups: list[list[_Segment]] = []
    current: list[_Segment] = []
    for seg in segments:
        size = sum(s.tokens for s in current)
        new_section = seg.is_heading and size >= config.min_tokens
        too_big = size + seg.tokens > config.target_tokens
        if current and (new_section or too_big):
            headings: list[_Segment] = []
            while current and current[-1].is_heading:  # a heading belongs with what follows it
                headings.insert(0, current.pop())
            overlap: list[_Segment] = []
            if current:
                groups.append(current)
                if too_big and not new_section and not headings:
                    overlap = _overlap_tail(current, config.overlap_tokens)
            while overlap and sum(s.tokens for s in overlap) + seg.tokens > config.target_tokens:
                overlap.pop(0)
            current = headings + overlap
        current.append(seg)
    if current:
        groups.append(current)
    return groups


def chunk_document(doc: Document, config: ChunkingConfig, count_tokens: TokenCounter) -> list[Chunk]:
    """Cut ``doc`` into chunks whose spans index ``doc.text``."""
    if not doc.sections:
        return []
    chunks: list[Chunk] = []
    for ordinal, group in enumerate(_pack(_segments(doc, config, count_tokens), config)):
        start, end = group[0].start, group[-1].end
        body = next((s for s in group if not s.is_heading), group[0])
        chunks.append(
            Chunk(
                chunk_id=f"{doc.doc_id}#{doc.version[:12]}-{ordinal}",
                doc_id=doc.doc_id,
                doc_version=doc.version,
                ordinal=ordinal,
                text=doc.text[start:end],
                start=start,
                end=end,
                heading_path=body.heading_path,
                source_path=doc.source_path,
                metadata=doc.metadata,
            )
        )
    return chunks


def count_words(texts: Sequence[str]) -> list[int]:
    """A tokenizer-free counter (whitespace words) for tests and for embedders without a tokenizer."""
    return [len(t.split()) for t in texts]
