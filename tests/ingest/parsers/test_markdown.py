"""Markdown files: title, headings, lists, code, quotes, tables and raw HTML as structural blocks."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.ingest.parsers.helpers import kinds, texts, write

from ragtune.ingest.parsers import parse_file
from ragtune.types import Block, ParsedDocument

MARKDOWN = """\
---
title: Front matter is metadata
tags: [a, b]
---

# Getting *Started*

Intro with a [link](https://example.com), `inline code`, **bold** and ![a diagram](d.png).
A soft break joins lines.\x20\x20
A hard break keeps one.

## Install &amp; run

- first item
- second item
  - nested item
1. numbered

```python
def main():
    return 1
```

    indented code

> quoted text
> - quoted list item

| Mode | Speed |
|------|-------|
| bm25 | fast  |
| *dense* | slower |

### Deeper
"""


@pytest.fixture
def markdown_doc(tmp_path: Path) -> ParsedDocument:
    return parse_file(write(tmp_path, "guide.md", MARKDOWN))


def test_markdown_title_is_the_first_level_one_heading(markdown_doc: ParsedDocument) -> None:
    assert markdown_doc.title == "Getting Started"


def test_markdown_front_matter_is_skipped(markdown_doc: ParsedDocument) -> None:
    assert not any("Front matter" in text or "tags" in text for text in texts(markdown_doc))


def test_markdown_headings_keep_their_levels(markdown_doc: ParsedDocument) -> None:
    headings = [(b.text, b.level) for b in markdown_doc.blocks if b.kind == "heading"]
    assert headings == [("Getting Started", 1), ("Install & run", 2), ("Deeper", 3)]


def test_markdown_inline_markup_becomes_plain_text(markdown_doc: ParsedDocument) -> None:
    intro = markdown_doc.blocks[1]
    assert intro == Block(
        "paragraph",
        "Intro with a link, inline code, bold and a diagram. A soft break joins lines."
        "\nA hard break keeps one.",
    )


def test_markdown_list_items_are_separate_blocks_in_order(markdown_doc: ParsedDocument) -> None:
    items = [b.text for b in markdown_doc.blocks if b.kind == "list_item"]
    assert items == ["first item", "second item", "nested item", "numbered", "quoted list item"]


def test_markdown_code_keeps_its_newlines_and_indentation(markdown_doc: ParsedDocument) -> None:
    code = [b.text for b in markdown_doc.blocks if b.kind == "code"]
    assert code == ["def main():\n    return 1", "indented code"]


def test_markdown_blockquote_paragraphs_are_quotes(markdown_doc: ParsedDocument) -> None:
    assert [b.text for b in markdown_doc.blocks if b.kind == "quote"] == ["quoted text"]


def test_markdown_table_is_one_block_with_a_line_per_row(markdown_doc: ParsedDocument) -> None:
    assert [b.text for b in markdown_doc.blocks if b.kind == "table"] == [
        "Mode | Speed\nbm25 | fast\ndense | slower"
    ]


def test_markdown_blocks_come_in_reading_order(markdown_doc: ParsedDocument) -> None:
    assert kinds(markdown_doc) == [
        "heading", "paragraph", "heading", "list_item", "list_item", "list_item", "list_item",
        "code", "code", "quote", "list_item", "table", "heading",
    ]  # fmt: skip


def test_markdown_without_level_one_heading_has_empty_title(tmp_path: Path) -> None:
    doc = parse_file(write(tmp_path, "a.markdown", "## Only a subheading\n\nBody."))
    assert doc.title == ""
    assert doc.blocks[0] == Block("heading", "Only a subheading", 2)


def test_markdown_setext_heading_counts_as_title(tmp_path: Path) -> None:
    doc = parse_file(write(tmp_path, "a.md", "Big Title\n=========\n\nBody."))
    assert doc.title == "Big Title"


def test_markdown_leading_thematic_break_without_closing_fence_is_not_front_matter(tmp_path: Path) -> None:
    doc = parse_file(write(tmp_path, "a.md", "---\n\nStill content."))
    assert texts(doc) == ["Still content."]


def test_markdown_raw_html_block_contributes_its_text(tmp_path: Path) -> None:
    doc = parse_file(write(tmp_path, "a.md", "Before.\n\n<div>Raw <b>html</b> text</div>\n\nAfter."))
    assert texts(doc) == ["Before.", "Raw html text", "After."]
