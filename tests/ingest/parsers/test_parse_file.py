"""Specification of parse_file, the one entry point: dispatch by extension, errors common to every format."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.ingest.parsers.helpers import EXAMPLES, kinds, parse_error, write

from ragtune.errors import InputError
from ragtune.ingest.parsers import SUPPORTED_EXTENSIONS, parse_file


def test_supported_extensions_are_the_document_formats() -> None:
    assert SUPPORTED_EXTENSIONS == {".txt", ".md", ".markdown", ".html", ".htm", ".pdf"}


def test_extension_match_is_case_insensitive(tmp_path: Path) -> None:
    doc = parse_file(write(tmp_path, "NOTES.MD", "# Hello\n\nWorld"))
    assert doc.title == "Hello"


@pytest.mark.parametrize("name", ["report.docx", "data.jsonl", "README"])
def test_unsupported_extension_names_the_file_and_lists_supported_types(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, "text")
    error = parse_error(path)
    assert error.source == str(path)
    assert str(path) in str(error)
    for extension in SUPPORTED_EXTENSIONS:
        assert extension in error.reason


def test_parse_error_is_an_input_error_so_the_cli_exits_2(tmp_path: Path) -> None:
    error = parse_error(write(tmp_path, "x.doc", "x"))
    assert isinstance(error, InputError)
    assert error.exit_code == 2


def test_missing_file_is_a_parse_error(tmp_path: Path) -> None:
    assert "cannot read file" in parse_error(tmp_path / "gone.txt").reason


@pytest.mark.parametrize("name", ["a.txt", "a.md", "a.html", "a.pdf"])
def test_empty_file_is_rejected(tmp_path: Path, name: str) -> None:
    assert parse_error(write(tmp_path, name, b"")).reason == "file is empty"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("a.txt", "   \n\n\t\n"),
        ("a.md", "---\ntitle: x\n---\n\n<!-- only a comment -->\n"),
        ("a.html", "<html><head><title>T</title><script>x()</script></head><body>  </body></html>"),
    ],
)
def test_document_without_text_is_rejected(tmp_path: Path, name: str, content: str) -> None:
    assert parse_error(write(tmp_path, name, content)).reason == "no text content"


# --- the shipped demo corpus --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("getting-started.md", "Getting started with ragtune"),
        ("retrieval.html", "How hybrid retrieval works in ragtune"),
        ("rag-vs-finetuning.pdf", "RAG, fine-tuning, or both?"),
        ("faq.txt", ""),
    ],
)
def test_demo_documents_parse_into_structured_blocks(name: str, title: str) -> None:
    doc = parse_file(EXAMPLES / name)
    assert doc.title == title
    assert len(doc.blocks) >= 8
    assert all(block.text == block.text.strip() and block.text for block in doc.blocks)
    if name != "faq.txt":
        assert "heading" in kinds(doc)
