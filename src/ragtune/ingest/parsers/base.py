"""What every format parser shares: the parser signature, UTF-8 decoding of text formats, clean blocks."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ragtune.config import IngestConfig
from ragtune.errors import ParseError
from ragtune.types import Block, BlockKind, ParsedDocument

# A parser gets the file's name (for error messages), its bytes (parse_file has read them, within the size limit)
# and the run's limits, for formats whose cost the file's size does not bound (a PDF's pages and streams).
Parser = Callable[[str, bytes, IngestConfig], ParsedDocument]

_BINARY_REASON = "not a UTF-8 text file (binary?)"


def decode_text(source: str, data: bytes) -> str:
    """Decode a text-format file as UTF-8 (a BOM is allowed), refusing binary content.

    A NUL byte never occurs in real text but is common in binaries that happen to decode, so it is checked
    first.
    """
    if b"\x00" in data:
        raise ParseError(source, _BINARY_REASON)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ParseError(source, _BINARY_REASON) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def make_block(kind: BlockKind, text: str, level: int = 0) -> Block | None:
    """Build a block, or None when it has no text.

    Code keeps the indentation of its first line (it is meaningful), so only surrounding blank lines go.
    """
    if kind == "code":
        lines = text.split("\n")
        while lines and not lines[0].strip():
            lines.pop(0)
        while lines and not lines[-1].strip():
            lines.pop()
        cleaned = "\n".join(line.rstrip() for line in lines)
    else:
        cleaned = text.strip()
    if not cleaned:
        return None
    return Block(kind, cleaned, level if kind == "heading" else 0)


def compact(blocks: Iterable[Block | None]) -> tuple[Block, ...]:
    """The blocks that have text (``make_block`` returns None for the others)."""
    return tuple(block for block in blocks if block is not None)
