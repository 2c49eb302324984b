"""Turn one file into a :class:`ParsedDocument`: a title and structural blocks in reading order.

Each format has one parser module built on a real parser library (markdown-it-py, selectolax, pypdf) rather
than regexes, because structure — headings and their levels, list items, code, tables — is what the chunker
uses to cut and label chunks. Parsers do not tidy whitespace inside blocks (the normalizer owns that); they
only strip each block and drop empty ones. Every failure a user can fix becomes a :class:`ParseError` naming
the file.

:func:`parse_file` is the one entry point; the registry below is the one place a format is declared.
"""

from __future__ import annotations

from pathlib import Path

from ragtune.config import IngestConfig
from ragtune.errors import ParseError
from ragtune.ingest.limits import read_limited
from ragtune.ingest.parsers.base import Parser
from ragtune.ingest.parsers.html import parse_html
from ragtune.ingest.parsers.markdown import parse_markdown
from ragtune.ingest.parsers.pdf import parse_pdf
from ragtune.ingest.parsers.text import parse_text
from ragtune.types import ParsedDocument

__all__ = ["SUPPORTED_EXTENSIONS", "parse_file"]


_PARSERS: dict[str, Parser] = {
    ".txt": parse_text,
    ".md": parse_markdown,
    ".markdown": parse_markdown,
    ".html": parse_html,
    ".htm": parse_html,
    ".pdf": parse_pdf,
}

SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(_PARSERS)


def parse_file(path: Path, limits: IngestConfig | None = None) -> ParsedDocument:
    """Parse ``path`` by its extension (case-insensitive) into a title and blocks.

    Raises :class:`ParseError` when the file cannot be read, is over a limit of ``limits`` (default: the
    :class:`IngestConfig` defaults), its type is unsupported, or it holds no text.
    """
    path = Path(path)
    limits = limits or IngestConfig()
    suffix = path.suffix.lower()
    parser = _PARSERS.get(suffix)
    if parser is None:
        supported = ", ".join(sorted(SUPPORTED_EXTENSIONS))
        hint = "; ingest corpus .jsonl files as a corpus" if suffix == ".jsonl" else ""
        shown = suffix or "(no extension)"
        raise ParseError(str(path), f"unsupported file type {shown!r} (supported: {supported}){hint}")
    data = read_limited(path, str(path), limits.max_file_bytes)
    if not data:
        raise ParseError(str(path), "file is empty")
    document = parser(str(path), data, limits)
    if not document.blocks:
        raise ParseError(str(path), "no text content")
    return document
