"""Helpers shared by the parser tests: write a file, parse it, look at its blocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragtune.errors import ParseError
from ragtune.ingest.parsers import parse_file
from ragtune.types import ParsedDocument

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "docs"


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def kinds(doc: ParsedDocument) -> list[str]:
    return [block.kind for block in doc.blocks]


def texts(doc: ParsedDocument) -> list[str]:
    return [block.text for block in doc.blocks]


def parse_error(path: Path) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse_file(path)
    return info.value
