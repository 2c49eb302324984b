"""Normalization: one canonical text per document, with block spans and heading paths."""

from ragtune.ingest.normalize import normalize_document
from ragtune.text import sha256_text
from ragtune.types import Block, ParsedDocument


def normalize(*blocks: Block, title: str = ""):
    return normalize_document(ParsedDocument(title, blocks), doc_id="d", source_path="d", metadata={"k": "v"},
                              fallback_title="fallback")


def test_prose_whitespace_collapses_and_blocks_join_with_a_blank_line():
    doc = normalize(Block("paragraph", "  Hello \t  world\n again "), Block("paragraph", "Second\r\npara"))
    assert doc.text == "Hello world again\n\nSecond para"
    assert [doc.text[s.start : s.end] for s in doc.sections] == ["Hello world again", "Second para"]


def test_code_keeps_its_lines_and_tables_keep_one_row_a_line():
    doc = normalize(Block("code", "def f():\n\treturn 1   \n\n"), Block("table", "a  |  b\n\n1 | 2"))
    assert doc.text == "def f():\n    return 1\n\na | b\n1 | 2"


def test_unicode_is_nfkc_and_control_characters_are_dropped():
    doc = normalize(Block("paragraph", "ﬁle\u200b name\x07 café"))
    assert doc.text == "file name café"


def test_heading_paths_follow_levels():
    doc = normalize(Block("heading", "Guide", 1), Block("heading", "Install", 2), Block("paragraph", "p1"),
                    Block("heading", "Use", 2), Block("paragraph", "p2"), Block("heading", "FAQ", 1))
    paths = [s.heading_path for s in doc.sections]
    assert paths == [("Guide",), ("Guide", "Install"), ("Guide", "Install"), ("Guide", "Use"), ("Guide", "Use"),
                     ("FAQ",)]


def test_empty_blocks_vanish_and_the_version_is_the_hash_of_the_text():
    doc = normalize(Block("paragraph", "   "), Block("paragraph", "x"))
    assert doc.text == "x" and doc.version == sha256_text("x")
    assert len(doc.version) == 64


def test_same_content_gives_same_version_whatever_the_whitespace():
    assert normalize(Block("paragraph", "a  b")).version == normalize(Block("paragraph", "a b\n")).version


def test_title_falls_back_when_the_parser_found_none():
    assert normalize(Block("paragraph", "x")).title == "fallback"
    assert normalize(Block("paragraph", "x"), title=" Real  title ").title == "Real title"
