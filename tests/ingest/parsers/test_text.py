"""Plain text files: paragraphs split on blank lines, no title."""

from __future__ import annotations

from pathlib import Path

from tests.ingest.parsers.helpers import write

from ragtune.ingest.parsers import parse_file
from ragtune.types import Block


def test_txt_paragraphs_are_split_on_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "notes.txt", "First line\nstill first.\n\n\n  \nSecond paragraph.\r\n\r\nThird.\n")
    doc = parse_file(path)
    assert doc.title == ""
    assert doc.blocks == (
        Block("paragraph", "First line\nstill first."),
        Block("paragraph", "Second paragraph."),
        Block("paragraph", "Third."),
    )
