"""Turn one file into a :class:`ParsedDocument`: a title and structural blocks in reading order.

Each format has one parser built on a real parser library (markdown-it-py, selectolax, pypdf) rather than
regexes, because structure — headings and their levels, list items, code, tables — is what the chunker uses to
cut and label chunks. Parsers do not tidy whitespace inside blocks (the normalizer owns that); they only strip
each block and drop empty ones. Every failure a user can fix becomes a :class:`ParseError` naming the file.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token
from pypdf import PdfReader
from pypdf.errors import DependencyError
from selectolax.lexbor import LexborHTMLParser, LexborNode

from ragtune.errors import ParseError
from ragtune.types import Block, BlockKind, ParsedDocument

SUPPORTED_EXTENSIONS: frozenset[str] = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".pdf"})

_BINARY_REASON = "not a UTF-8 text file (binary?)"


def parse_file(path: Path) -> ParsedDocument:
    """Parse ``path`` by its extension (case-insensitive) into a title and blocks.

    Raises :class:`ParseError` when the file cannot be read, its type is unsupported, or it holds no text.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    parser = _PARSERS.get(suffix)
    if parser is None:
        supported = ", ".join(sorted(SUPPORTED_EXTENSIONS))
        hint = "; ingest corpus .jsonl files as a corpus" if suffix == ".jsonl" else ""
        shown = suffix or "(no extension)"
        raise ParseError(str(path), f"unsupported file type {shown!r} (supported: {supported}){hint}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ParseError(str(path), f"cannot read file ({exc.strerror or exc})") from None
    if not data:
        raise ParseError(str(path), "file is empty")
    document = parser(str(path), data)
    if not document.blocks:
        raise ParseError(str(path), "no text content")
    return document


# --- shared helpers -----------------------------------------------------------------------------------------


def _decode_text(source: str, data: bytes) -> str:
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


def _make_block(kind: BlockKind, text: str, level: int = 0) -> Block | None:
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


def _compact(blocks: Iterable[Block | None]) -> tuple[Block, ...]:
    return tuple(block for block in blocks if block is not None)


def _split_on_blank_lines(text: str) -> list[str]:
    """Group lines into paragraphs separated by lines that are empty or only whitespace."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in text.split("\n"):
        if line.strip():
            current.append(line)
        elif current:
            paragraphs.append("\n".join(current))
            current = []
    if current:
        paragraphs.append("\n".join(current))
    return paragraphs


# --- plain text ---------------------------------------------------------------------------------------------


def _parse_txt(source: str, data: bytes) -> ParsedDocument:
    text = _decode_text(source, data)
    return ParsedDocument("", _compact(_make_block("paragraph", p) for p in _split_on_blank_lines(text)))


# --- markdown -----------------------------------------------------------------------------------------------

_MARKDOWN = MarkdownIt("commonmark").enable("table")

# Container tokens that decide what a paragraph inside them is; the innermost one wins, so a list inside a
# blockquote yields list items and a quote inside a list item yields quotes.
_CONTAINER_OPEN: dict[str, BlockKind] = {"list_item_open": "list_item", "blockquote_open": "quote"}
_CONTAINER_CLOSE = frozenset({"list_item_close", "blockquote_close"})


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
            yield _make_block("heading", _render_inline(tokens[index]), int(token.tag[1:]))
        elif kind == "paragraph_open":
            index += 1
            yield _make_block(containers[-1] if containers else "paragraph", _render_inline(tokens[index]))
        elif kind in ("fence", "code_block"):
            yield _make_block("code", token.content)
        elif kind == "table_open":
            table_rows = []
        elif kind in ("th_open", "td_open"):
            index += 1
            row_cells.append(_render_inline(tokens[index]).strip())
        elif kind == "tr_close":
            table_rows.append(" | ".join(row_cells))
            row_cells = []
        elif kind == "table_close":
            yield _make_block("table", "\n".join(table_rows))
        elif kind == "html_block":
            # Raw HTML inside Markdown is still content; read it the way an HTML file is read.
            yield from _html_fragment_blocks(token.content)
        index += 1


def _parse_markdown(source: str, data: bytes) -> ParsedDocument:
    text = _strip_front_matter(_decode_text(source, data))
    blocks = _compact(_markdown_blocks(_MARKDOWN.parse(text)))
    title = next((b.text for b in blocks if b.kind == "heading" and b.level == 1), "")
    return ParsedDocument(title, blocks)


# --- HTML ---------------------------------------------------------------------------------------------------

_DROPPED_TAGS = frozenset(
    {"script", "style", "noscript", "template", "svg", "form", "nav", "head", "iframe", "object", "button"}
)
# Page chrome only when it belongs to the page, not to an article or section (an article's own header often
# carries its headline).
_PAGE_CHROME_TAGS = frozenset({"header", "footer"})
_CONTENT_ANCESTORS = frozenset({"article", "section", "main"})
_HEADING_TAGS = {f"h{n}": n for n in range(1, 7)}
# Elements that end the current run of loose text; everything else (a, span, b, code, …) is inline.
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "body", "dd", "details", "dialog", "div", "dl", "dt", "fieldset",
        "figcaption", "figure", "footer", "header", "hgroup", "hr", "html", "li", "main", "menu", "ol", "p",
        "pre", "section", "summary", "table", "ul", "blockquote",
    }
)  # fmt: skip


def _is_page_chrome(node: LexborNode) -> bool:
    if node.tag not in _PAGE_CHROME_TAGS:
        return False
    parent = node.parent
    while parent is not None and parent.tag not in ("body", "html"):
        if parent.tag in _CONTENT_ANCESTORS:
            return False
        parent = parent.parent
    return True


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
    for row in table.css("tr"):
        owner = row.parent
        while owner is not None and owner.tag != "table":
            owner = owner.parent
        if owner is None or owner.mem_id != table.mem_id:
            continue
        cells = [
            " ".join(_inline_text(cell).split())
            for cell in row.iter(include_text=False)
            if cell.tag in ("td", "th")
        ]
        if any(cells):
            lines.append(" | ".join(cells))
    return "\n".join(lines)


_Frame = tuple[Iterator[LexborNode], BlockKind, int, tuple[BlockKind, int] | None]


class _HtmlWalker:
    """Walk the DOM in document order, emitting each piece of text exactly once.

    Loose text (text and inline elements not inside a recognised block) accumulates in a buffer and is
    emitted when a block boundary is reached, with the kind of the enclosing context: a paragraph normally, a
    list item inside <li>, a quote inside <blockquote>. Recognised blocks emit their own text and are not
    descended into again, which is what keeps nested elements from being emitted twice.
    """

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self._buffer: list[str] = []

    def _flush(self, kind: BlockKind, level: int = 0) -> None:
        block = _make_block(kind, "".join(self._buffer), level)
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
        # Each frame: the element's remaining children, the kind/level its loose text gets, and what to flush
        # when the element ends (None for inline elements, whose text continues the current run). An explicit
        # stack instead of recursion, so deeply nested generated HTML cannot exhaust the call stack.
        stack: list[_Frame] = [(root.iter(include_text=True), "paragraph", 0, None)]
        while stack:
            children, kind, level, on_exit = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                if on_exit is not None:
                    self._flush(*on_exit)
                continue
            tag = child.tag
            if tag == "-text":
                self._buffer.append(child.text_content or "")
            elif tag.startswith("-") or tag in _DROPPED_TAGS or _is_page_chrome(child):
                continue
            elif tag == "br":
                self._buffer.append("\n")
            elif tag == "img":
                self._buffer.append(child.attributes.get("alt") or "")
            elif tag == "pre":
                self._flush(kind, level)
                self._emit(_make_block("code", _inline_text(child)))
            elif tag == "table":
                self._flush(kind, level)
                caption = next((c for c in child.iter() if c.tag == "caption"), None)
                if caption is not None:
                    self._emit(_make_block("paragraph", _inline_text(caption)))
                self._emit(_make_block("table", _table_text(child)))
            elif tag in _HEADING_TAGS or tag in ("li", "blockquote") or tag in _BLOCK_TAGS:
                self._flush(kind, level)
                inner = _block_context(tag, kind, level)
                stack.append((child.iter(include_text=True), *inner, inner))
            else:
                stack.append((child.iter(include_text=True), kind, level, None))


def _block_context(tag: str, kind: BlockKind, level: int) -> tuple[BlockKind, int]:
    """The kind (and heading level) that loose text inside a block element gets."""
    if tag in _HEADING_TAGS:
        return "heading", _HEADING_TAGS[tag]
    if tag == "li":
        return "list_item", 0
    if tag == "blockquote":
        return "quote", 0
    return kind, level  # div, section, p…: whatever the enclosing context is


def _html_blocks(tree: LexborHTMLParser) -> tuple[Block, ...]:
    root = tree.body if tree.body is not None else tree.root
    if root is None:
        return ()
    walker = _HtmlWalker()
    walker.walk(root)
    return walker.finish()


def _html_fragment_blocks(html: str) -> tuple[Block, ...]:
    return _html_blocks(LexborHTMLParser(html))


def _parse_html(source: str, data: bytes) -> ParsedDocument:
    tree = LexborHTMLParser(_decode_text(source, data))
    blocks = _html_blocks(tree)
    # Only the head's <title>: an <svg> in the body may carry its own <title> (an icon's tooltip).
    title_node = tree.head.css_first("title") if tree.head is not None else None
    title = " ".join((title_node.text() if title_node is not None else "").split())
    if not title:
        title = next((b.text for b in blocks if b.kind == "heading" and b.level == 1), "")
    return ParsedDocument(title, blocks)


# --- PDF ----------------------------------------------------------------------------------------------------

_SENTENCE_END = (".", "!", "?", ":")
_BULLETS = ("•", "●", "◦", "▪", "‣", "–", "-", "*")
_MAX_HEADING_CHARS = 80
_MAX_HEADING_WORDS = 12
# Words that stay lowercase in Title Case ("Retrieval for the Impatient").
_MINOR_WORDS = frozenset("a an and as at but by for from in into nor of on or per the to vs via with".split())


def _short_reason(exc: Exception) -> str:
    """One short line about a pypdf failure: the class name and the first line of its message."""
    message = str(exc).strip().split("\n", 1)[0]
    if len(message) > 100:
        message = message[:97] + "..."
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _is_bullet(line: str) -> bool:
    stripped = line.lstrip()
    return any(stripped.startswith(b + " ") for b in _BULLETS)


def _is_section_number(word: str) -> bool:
    return bool(word.rstrip(".")) and all(part.isdigit() for part in word.rstrip(".").split("."))


def _looks_like_heading(line: str) -> bool:
    """A conservative test for a heading line: short, no closing punctuation, Title Case or ALL CAPS."""
    text = line.strip()
    words = text.split()
    if not words or len(text) > _MAX_HEADING_CHARS or len(words) > _MAX_HEADING_WORDS:
        return False
    if text.endswith((".", "!", "?", ":", ";", ",")) or _is_bullet(text):
        return False
    letters = [c for c in text if c.isalpha()]
    if len(letters) < 2:
        return False  # page numbers, figure labels
    if all(c.isupper() for c in letters):
        return True
    if _is_section_number(words[0]) and len(words) > 1:
        words = words[1:]  # "2.1 Retrieval Basics"
    if not words[0][0].isupper():
        return False
    for word in words[1:]:
        core = word.strip("()[]\"'")
        if not core or not core[0].isalpha() or core.lower() in _MINOR_WORDS:
            continue
        if not core[0].isupper():
            return False
    return True


def _join_lines(lines: list[str]) -> str:
    """Join wrapped lines with spaces, undoing hyphenation where a lowercase word was split ("exam-" "ple").

    Any other word that ends a line with a hyphen ("Fine-" "Tuning") keeps the hyphen and gets no space.
    """
    text = ""
    for line in lines:
        line = line.strip()
        hyphenated = len(text) >= 2 and text[-1] == "-" and text[-2].isalpha() and line[:1].isalnum()
        if not text:
            text = line
        elif hyphenated and text[-2].islower() and line[:1].islower():
            text = text[:-1] + line
        elif hyphenated:
            text = text + line
        else:
            text = text + " " + line
    return text


def _pdf_page_paragraphs(page_text: str) -> list[list[str]]:
    """Group a page's lines into paragraphs (lists of lines).

    pypdf's plain extraction usually loses the vertical gap between paragraphs, so when a page has no blank
    lines a paragraph is taken to end where a line closes a sentence and the next line opens one (uppercase or
    a bullet). A bullet line always starts a new paragraph, and so does a line that looks like a heading.
    """
    raw_lines = [line.rstrip() for line in page_text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    # A lone number at the very top or bottom of a page is a page number, not content.
    while raw_lines and (not raw_lines[-1].strip() or raw_lines[-1].strip().isdigit()):
        raw_lines.pop()
    while raw_lines and (not raw_lines[0].strip() or raw_lines[0].strip().isdigit()):
        raw_lines.pop(0)
    has_blank_lines = any(not line.strip() for line in raw_lines)
    text_width = max((len(line.strip()) for line in raw_lines), default=0)

    paragraphs: list[list[str]] = []
    current: list[str] = []
    for index, line in enumerate(raw_lines):
        if not line.strip():
            if current:
                paragraphs.append(current)
                current = []
            continue
        if current:
            previous = current[-1].rstrip()
            sentence_break = (
                not has_blank_lines
                and previous.endswith(_SENTENCE_END)
                and (line.lstrip()[:1].isupper() or _is_bullet(line))
            )
            # A heading may follow a line that ends without punctuation (a list item, a caption), but then
            # that line must stop well short of the page's text width, i.e. visibly end its paragraph.
            heading_break = _looks_like_heading(line) and (
                previous.endswith(_SENTENCE_END) or len(previous.strip()) < 0.7 * text_width
            )
            if sentence_break or heading_break or _is_bullet(line):
                paragraphs.append(current)
                current = []
        current.append(line)
        # A heading line stands alone: close it when the next line starts a new sentence, or when it is
        # visibly shorter than the text width (a paragraph's first line runs to the margin).
        if (
            len(current) == 1
            and _looks_like_heading(line)
            and index + 1 < len(raw_lines)
            and (raw_lines[index + 1].lstrip()[:1].isupper() or len(line.strip()) < 0.6 * text_width)
        ):
            paragraphs.append(current)
            current = []
    if current:
        paragraphs.append(current)
    return paragraphs


def _pdf_blocks(pages_text: list[str], title: str) -> list[Block]:
    paragraphs: list[str] = []
    for page_text in pages_text:
        page_paragraphs = [_join_lines(lines) for lines in _pdf_page_paragraphs(page_text)]
        # A paragraph that runs over a page break: the previous page stops mid-sentence and this page goes on
        # in lowercase.
        if (
            paragraphs
            and page_paragraphs
            and not paragraphs[-1].endswith((".", "!", "?", ":", ";"))
            and page_paragraphs[0][:1].islower()
        ):
            paragraphs[-1] = _join_lines([paragraphs[-1], page_paragraphs.pop(0)])
        paragraphs.extend(page_paragraphs)

    blocks: list[Block] = []
    for index, text in enumerate(paragraphs):
        following = paragraphs[index + 1] if index + 1 < len(paragraphs) else ""
        if index == 0 and title and " ".join(text.split()).casefold() == " ".join(title.split()).casefold():
            block = _make_block("heading", text, 1)
        elif _looks_like_heading(text) and len(following) > len(text) and not _looks_like_heading(following):
            block = _make_block("heading", text, 2)
        elif _is_bullet(text):
            block = _make_block("list_item", text.lstrip()[2:])
        else:
            block = _make_block("paragraph", text)
        if block is not None:
            blocks.append(block)
    return blocks


def _pdf_failure(source: str, exc: Exception) -> ParseError:
    """Turn any pypdf exception into a one-line ParseError (pypdf raises many exception types)."""
    if isinstance(exc, DependencyError):
        # AES-encrypted PDFs, even ones that open without a password, need the optional crypto package.
        return ParseError(
            source,
            "encrypted PDF (AES) that needs the 'cryptography' package to read: "
            "pip install cryptography, or decrypt a copy first (e.g. qpdf --decrypt)",
        )
    return ParseError(source, f"not a readable PDF: {_short_reason(exc)}")


def _open_pdf(source: str, data: bytes) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(data))  # also tries the empty password on an encrypted file
        opened = reader.decrypt("") if reader.is_encrypted else True
    except Exception as exc:
        raise _pdf_failure(source, exc) from None
    if not opened:
        raise ParseError(source, "encrypted PDF that needs a password; decrypt a copy first (qpdf --decrypt)")
    return reader


def _parse_pdf(source: str, data: bytes) -> ParsedDocument:
    reader = _open_pdf(source, data)
    try:
        pages_text = [page.extract_text() or "" for page in reader.pages]
        metadata = reader.metadata
        title = str(metadata.title or "").strip() if metadata is not None else ""
    except Exception as exc:
        raise _pdf_failure(source, exc) from None
    if not any(text.strip() for text in pages_text):
        raise ParseError(source, "no extractable text (scanned PDF? run OCR first)")
    return ParsedDocument(" ".join(title.split()), tuple(_pdf_blocks(pages_text, title)))


_PARSERS: dict[str, Callable[[str, bytes], ParsedDocument]] = {
    ".txt": _parse_txt,
    ".md": _parse_markdown,
    ".markdown": _parse_markdown,
    ".html": _parse_html,
    ".htm": _parse_html,
    ".pdf": _parse_pdf,
}
