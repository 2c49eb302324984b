"""Normalize a parsed document into one canonical text with block spans.

The normalized text is what chunk offsets, document versions and citations refer to, so it must be a pure
function of the parsed content: NFKC Unicode, no control characters, prose whitespace collapsed to single spaces,
code and table lines kept, blocks joined by one blank line.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Mapping

from ragtune.text import sha256_text
from ragtune.types import Block, Document, ParsedDocument, Section

BLOCK_SEPARATOR = "\n\n"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u200e\u200f\u2028\u2029\ufeff]")
_SPACES = re.compile(r"\s+")
_LINE_SPACES = re.compile(r"[ \t\u00a0]+")


def normalize_block_text(block: Block) -> str:
    """Canonical text of one block; code keeps its line structure, tables keep one row a line."""
    text = unicodedata.normalize("NFKC", block.text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\t", "    ") if block.kind == "code" else text
    text = _CONTROL.sub("", text)
    if block.kind == "code":
        lines = [line.rstrip() for line in text.split("\n")]
        return "\n".join(lines).strip("\n")
    if block.kind == "table":
        rows = (_LINE_SPACES.sub(" ", row).strip() for row in text.split("\n"))
        return "\n".join(row for row in rows if row)
    return _SPACES.sub(" ", text).strip()


def normalize_document(
    parsed: ParsedDocument,
    *,
    doc_id: str,
    source_path: str,
    metadata: Mapping[str, str],
    fallback_title: str = "",
) -> Document:
    """Join the normalized blocks and record where each one lies and which headings it sits under."""
    parts: list[str] = []
    sections: list[Section] = []
    headings: list[tuple[int, str]] = []  # the open heading stack: (level, text)
    offset = 0
    for block in parsed.blocks:
        text = normalize_block_text(block)
        if not text:
            continue
        if block.kind == "heading":
            level = max(block.level, 1)
            headings = [(lvl, h) for lvl, h in headings if lvl < level] + [(level, text)]
        if parts:
            offset += len(BLOCK_SEPARATOR)
        sections.append(Section(offset, offset + len(text), block.kind, tuple(h for _, h in headings)))
        parts.append(text)
        offset += len(text)
    full_text = BLOCK_SEPARATOR.join(parts)
    title = _SPACES.sub(" ", unicodedata.normalize("NFKC", parsed.title)).strip() or fallback_title
    return Document(
        doc_id=doc_id,
        version=sha256_text(full_text),
        text=full_text,
        title=title,
        source_path=source_path,
        metadata=dict(metadata),
        sections=tuple(sections),
    )
