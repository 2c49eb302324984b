"""HTML via selectolax (lexbor): the page's content in document order, without scripts, menus or page chrome.

The title is the head's <title>, else the first <h1>. Markdown reads its raw HTML with
:func:`html_fragment_blocks`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from selectolax.lexbor import LexborHTMLParser, LexborNode

from ragtune.config import IngestConfig
from ragtune.ingest.parsers.base import decode_text, make_block
from ragtune.types import Block, BlockKind, ParsedDocument

_DROPPED_TAGS = frozenset(
    {"script", "style", "noscript", "template", "svg", "form", "nav", "head", "iframe", "object", "button"}
)
# Page chrome only when it belongs to the page, not to an article or section (an article's own header often
# carries its headline).
_PAGE_CHROME_TAGS = frozenset({"header", "footer"})
_CONTENT_TAGS = frozenset({"article", "section", "main"})
_HEADING_TAGS = {f"h{n}": n for n in range(1, 7)}
# Elements that end the current run of loose text; everything else (a, span, b, code, …) is inline.
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "body", "dd", "details", "dialog", "div", "dl", "dt", "fieldset",
        "figcaption", "figure", "footer", "header", "hgroup", "hr", "html", "li", "main", "menu", "ol", "p",
        "pre", "section", "summary", "table", "ul", "blockquote",
    }
)  # fmt: skip


def parse_html(source: str, data: bytes, limits: IngestConfig) -> ParsedDocument:
    tree = LexborHTMLParser(decode_text(source, data))
    blocks = _html_blocks(tree)
    # Only the head's <title>: an <svg> in the body may carry its own <title> (an icon's tooltip).
    title_node = tree.head.css_first("title") if tree.head is not None else None
    title = " ".join((title_node.text() if title_node is not None else "").split())
    if not title:
        title = next((b.text for b in blocks if b.kind == "heading" and b.level == 1), "")
    return ParsedDocument(title, blocks)


def html_fragment_blocks(html: str) -> tuple[Block, ...]:
    return _html_blocks(LexborHTMLParser(html))


def _html_blocks(tree: LexborHTMLParser) -> tuple[Block, ...]:
    root = tree.body if tree.body is not None else tree.root
    if root is None:
        return ()
    walker = _HtmlWalker()
    walker.walk(root)
    return walker.finish()


def _inline_text(node: LexborNode) -> str:
    """All text under ``node`` in order, skipping dropped elements; <br> is a newline, <img> gives its alt.

    Iterative (a stack of child iterators), so generated HTML nested thousands deep cannot exhaust recursion.
    """
    parts: list[str] = []
    stack = [node.iter(include_text=True)]
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
            continue
        tag = child.tag
        if tag == "-text":
            parts.append(child.text_content or "")
        elif tag == "br":
            parts.append("\n")
        elif tag == "img":
            parts.append(child.attributes.get("alt") or "")
        elif not (tag in _DROPPED_TAGS or tag.startswith("-")):  # comments and doctype have no content
            stack.append(child.iter(include_text=True))
    return "".join(parts)


def _table_text(table: LexborNode) -> str:
    """One line per row, cells joined by ' | '; rows of nested tables belong to those tables, not this one."""
    lines: list[str] = []
    for row in _own_rows(table):
        cells = [
            " ".join(_inline_text(cell).split())
            for cell in row.iter(include_text=False)
            if cell.tag in ("td", "th")
        ]
        if any(cells):
            lines.append(" | ".join(cells))
    return "\n".join(lines)


def _own_rows(table: LexborNode) -> Iterator[LexborNode]:
    """The <tr> elements of ``table`` itself, in document order: one walk down that neither enters a row (its
    cells are read by the caller) nor a nested table, so every node is seen once however deep the nesting."""
    stack = [table.iter(include_text=False)]
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
        elif child.tag == "tr":
            yield child
        elif child.tag != "table":
            stack.append(child.iter(include_text=False))


class _Frame(NamedTuple):
    """One open element of the walk: its remaining children and the state its descendants inherit."""

    children: Iterator[LexborNode]
    kind: BlockKind  # what loose text inside gets: paragraph, list_item, quote, heading
    level: int  # the heading level when kind is "heading"
    on_exit: tuple[BlockKind, int] | None  # what to flush when the element ends (None: inline, the run goes on)
    in_content: bool  # inside an <article>, <section> or <main>: a <header>/<footer> here is content, not chrome


class _HtmlWalker:
    """Walk the DOM in document order, emitting each piece of text exactly once.

    Loose text (text and inline elements not inside a recognised block) accumulates in a buffer and is
    emitted when a block boundary is reached, with the kind of the enclosing context: a paragraph normally, a
    list item inside <li>, a quote inside <blockquote>. Recognised blocks emit their own text and are not
    descended into again, which is what keeps nested elements from being emitted twice.

    What an element needs to know about its ancestors (the kind of text it is in, whether it is inside
    content) is carried down in its frame rather than looked up, so the walk is linear in the number of nodes
    however deep the nesting; looking up the ancestors of every node would be quadratic.
    """

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self._buffer: list[str] = []

    def _flush(self, kind: BlockKind, level: int = 0) -> None:
        block = make_block(kind, "".join(self._buffer), level)
        self._buffer = []
        if block is not None:
            self.blocks.append(block)

    def finish(self) -> tuple[Block, ...]:
        self._flush("paragraph")
        return tuple(self.blocks)

    def _emit(self, block: Block | None) -> None:
        if block is not None:
            self.blocks.append(block)

    def walk(self, root: LexborNode) -> None:
        # An explicit stack instead of recursion, so deeply nested generated HTML cannot exhaust the call stack.
        stack = [_Frame(root.iter(include_text=True), "paragraph", 0, None, root.tag in _CONTENT_TAGS)]
        while stack:
            frame = stack[-1]
            child = next(frame.children, None)
            if child is None:
                stack.pop()
                if frame.on_exit is not None:
                    self._flush(*frame.on_exit)
                continue
            tag = child.tag
            kind, level = frame.kind, frame.level
            if tag == "-text":
                self._buffer.append(child.text_content or "")
            elif tag.startswith("-") or tag in _DROPPED_TAGS:
                continue
            elif tag in _PAGE_CHROME_TAGS and not frame.in_content:
                continue  # the page's own header or footer (one inside an article is the article's)
            elif tag == "br":
                self._buffer.append("\n")
            elif tag == "img":
                self._buffer.append(child.attributes.get("alt") or "")
            elif tag == "pre":
                self._flush(kind, level)
                self._emit(make_block("code", _inline_text(child)))
            elif tag == "table":
                self._flush(kind, level)
                caption = next((c for c in child.iter() if c.tag == "caption"), None)
                if caption is not None:
                    self._emit(make_block("paragraph", _inline_text(caption)))
                self._emit(make_block("table", _table_text(child)))
            else:
                in_content = frame.in_content or tag in _CONTENT_TAGS
                if tag in _HEADING_TAGS or tag in ("li", "blockquote") or tag in _BLOCK_TAGS:
                    self._flush(kind, level)
                    inner = _block_context(tag, kind, level)
                    stack.append(_Frame(child.iter(include_text=True), *inner, inner, in_content))
                else:
                    stack.append(_Frame(child.iter(include_text=True), kind, level, None, in_content))


def _block_context(tag: str, kind: BlockKind, level: int) -> tuple[BlockKind, int]:
    """The kind (and heading level) that loose text inside a block element gets."""
    if tag in _HEADING_TAGS:
        return "heading", _HEADING_TAGS[tag]
    if tag == "li":
        return "list_item", 0
    if tag == "blockquote":
        return "quote", 0
    return kind, level  # div, section, p…: whatever the enclosing context is
