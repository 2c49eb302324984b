"""Markdown (CommonMark plus tables) via markdown-it-py's tokens; the title is the first level-1 heading."""

from __future__ import annotations

from collections.abc import Iterator

from markdown_it import MarkdownIt
from markdown_it.token import Token

from ragtune.config import IngestConfig
from ragtune.ingest.parsers.base import compact, decode_text, make_block
from ragtune.ingest.parsers.html import html_fragment_blocks
from ragtune.types import Block, BlockKind, ParsedDocument

_MARKDOWN = MarkdownIt("commonmark").enable("table")

# Container tokens that decide what a paragraph inside them is; the innermost one wins, so a list inside a
# blockquote yields list items and a quote inside a list item yields quotes.
_CONTAINER_OPEN: dict[str, BlockKind] = {"list_item_open": "list_item", "blockquote_open": "quote"}
_CONTAINER_CLOSE = frozenset({"list_item_close", "blockquote_close"})


def parse_markdown(source: str, data: bytes, limits: IngestConfig) -> ParsedDocument:
    text = _strip_front_matter(decode_text(source, data))
    blocks = compact(_markdown_blocks(_MARKDOWN.parse(text)))
    title = next((b.text for b in blocks if b.kind == "heading" and b.level == 1), "")
    return ParsedDocument(title, blocks)


def _strip_front_matter(text: str) -> str:
    """Drop a leading YAML front-matter block (``---`` … ``---`` or ``...``); it is metadata, not content."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return text
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            return "\n".join(lines[index + 1 :])
    return text  # no closing fence: a thematic break, not front matter


def _render_inline(token: Token) -> str:
    """Plain text of an inline token: keep words, code, link text and image alt text; drop markup."""
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak":
            parts.append("\n")
        elif child.type == "image":
            parts.append(child.content)  # the alt text; its children repeat it as tokens
    return "".join(parts)


def _markdown_blocks(tokens: list[Token]) -> Iterator[Block | None]:
    containers: list[BlockKind] = []
    table_rows: list[str] = []
    row_cells: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        kind = token.type
        if kind in _CONTAINER_OPEN:
            containers.append(_CONTAINER_OPEN[kind])
        elif kind in _CONTAINER_CLOSE:
            containers.pop()
        elif kind == "heading_open":
            index += 1
            yield make_block("heading", _render_inline(tokens[index]), int(token.tag[1:]))
        elif kind == "paragraph_open":
            index += 1
            yield make_block(containers[-1] if containers else "paragraph", _render_inline(tokens[index]))
        elif kind in ("fence", "code_block"):
            yield make_block("code", token.content)
        elif kind == "table_open":
            table_rows = []
        elif kind in ("th_open", "td_open"):
            index += 1
            row_cells.append(_render_inline(tokens[index]).strip())
        elif kind == "tr_close":
            table_rows.append(" | ".join(row_cells))
            row_cells = []
        elif kind == "table_close":
            yield make_block("table", "\n".join(table_rows))
        elif kind == "html_block":
            # Raw HTML inside Markdown is still content; read it the way an HTML file is read.
            yield from html_fragment_blocks(token.content)
        index += 1
