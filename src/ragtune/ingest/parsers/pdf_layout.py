"""Rebuild paragraphs, headings and list items from the plain text pypdf extracts, one string per page.

A PDF stores positioned glyphs, not structure, and pypdf's plain extraction keeps only line breaks; the
heuristics here are deliberately conservative, since a wrong heading cuts a chunk in the wrong place.
"""

from __future__ import annotations

from ragtune.ingest.parsers.base import make_block
from ragtune.types import Block

_SENTENCE_END = (".", "!", "?", ":")
_BULLETS = ("•", "●", "◦", "▪", "‣", "–", "-", "*")
_MAX_HEADING_CHARS = 80
_MAX_HEADING_WORDS = 12
# Words that stay lowercase in Title Case ("Retrieval for the Impatient").
_MINOR_WORDS = frozenset("a an and as at but by for from in into nor of on or per the to vs via with".split())


def pdf_blocks(pages_text: list[str], title: str) -> list[Block]:
    """A document's blocks from its pages' text; a first paragraph equal to the metadata title is its h1."""
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
            block = make_block("heading", text, 1)
        elif _looks_like_heading(text) and len(following) > len(text) and not _looks_like_heading(following):
            block = make_block("heading", text, 2)
        elif _is_bullet(text):
            block = make_block("list_item", text.lstrip()[2:])
        else:
            block = make_block("paragraph", text)
        if block is not None:
            blocks.append(block)
    return blocks


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
