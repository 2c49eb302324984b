"""Plain text: no title, one paragraph per run of non-blank lines."""

from __future__ import annotations

from ragtune.config import IngestConfig
from ragtune.ingest.parsers.base import compact, decode_text, make_block
from ragtune.types import ParsedDocument


def parse_text(source: str, data: bytes, limits: IngestConfig) -> ParsedDocument:
    text = decode_text(source, data)
    return ParsedDocument("", compact(make_block("paragraph", p) for p in _split_on_blank_lines(text)))


def _split_on_blank_lines(text: str) -> list[str]:
    """Group lines into paragraphs separated by lines that are empty or only whitespace."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in text.split("\n"):
        if line.strip():
            current.append(line)
        elif current:
            paragraphs.append("\n".join(current))
            current = []
    if current:
        paragraphs.append("\n".join(current))
    return paragraphs
