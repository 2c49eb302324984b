"""Decoding shared by the text formats (.txt, .md, .html): UTF-8, BOM allowed; anything else is binary."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.ingest.parsers.helpers import parse_error, texts, write

from ragtune.ingest.parsers import parse_file


@pytest.mark.parametrize("name", ["a.txt", "a.md", "a.html"])
def test_nul_bytes_mean_binary(tmp_path: Path, name: str) -> None:
    error = parse_error(write(tmp_path, name, b"looks like text\x00\x01\x02"))
    assert error.reason == "not a UTF-8 text file (binary?)"


@pytest.mark.parametrize("name", ["a.txt", "a.md", "a.html"])
def test_invalid_utf8_means_binary(tmp_path: Path, name: str) -> None:
    error = parse_error(write(tmp_path, name, "caf\u00e9 cr\u00e8me".encode("latin-1")))
    assert error.reason == "not a UTF-8 text file (binary?)"


@pytest.mark.parametrize("name", ["a.txt", "a.md", "a.html"])
def test_utf8_bom_is_accepted_and_not_kept(tmp_path: Path, name: str) -> None:
    doc = parse_file(write(tmp_path, name, b"\xef\xbb\xbfHello there"))
    assert texts(doc) == ["Hello there"]
