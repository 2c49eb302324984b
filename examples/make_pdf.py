"""Build examples/docs/rag-vs-finetuning.pdf from examples/rag-vs-finetuning.txt.src.

Usage: python examples/make_pdf.py

The source is plain text: the first paragraph is the title, paragraphs are separated by blank lines, and a
paragraph starting with "- " is a bullet. The source lives outside docs/ so that only the PDF is ingested.
"""

from __future__ import annotations

from pathlib import Path

from ragtune.testing.pdf import MAX_LINES_PER_PAGE, write_text_pdf

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "rag-vs-finetuning.txt.src"
TARGET = HERE / "docs" / "rag-vs-finetuning.pdf"
WIDTH = 90
SENTENCE_END = (".", "!", "?", ":")


def wrap(paragraph: str, width: int = WIDTH) -> list[str]:
    """Wrap at spaces (never at hyphens), indenting bullet continuations.

    Plain PDF text extraction loses the gap between paragraphs, so the parser treats "line ends a sentence,
    next line starts with a capital" as a paragraph break. A line that happens to end that way in
    mid-paragraph would split the paragraph, so such a line gives up its last word to the next line.
    """
    indent = "  " if paragraph.startswith("- ") else ""
    words = paragraph.split()
    lines: list[list[str]] = [[]]
    for word in words:
        current = lines[-1]
        prefix = indent if len(lines) > 1 else ""
        if current and len(prefix + " ".join(current + [word])) > width:
            carried: list[str] = []
            if current[-1].endswith(SENTENCE_END) and word[:1].isupper() and len(current) > 1:
                carried = [current.pop()]
            lines.append(carried)
        lines[-1].append(word)
    return [("" if i == 0 else indent) + " ".join(line) for i, line in enumerate(lines)]


def paginate(paragraphs: list[list[str]]) -> list[list[str]]:
    """Fill pages with whole paragraphs, a blank line between paragraphs."""
    pages: list[list[str]] = [[]]
    for lines in paragraphs:
        page = pages[-1]
        needed = len(lines) + (1 if page else 0)
        if page and len(page) + needed > MAX_LINES_PER_PAGE:
            pages.append([])
            page = pages[-1]
        if page:
            page.append("")
        page.extend(lines)
    return pages


def main() -> None:
    text = SOURCE.read_text(encoding="utf-8")
    paragraphs = [" ".join(p.split()) for p in text.split("\n\n") if p.strip()]
    title = paragraphs[0]
    pages = paginate([wrap(p) for p in paragraphs])
    write_text_pdf(TARGET, pages, title=title)
    print(f"wrote {TARGET.relative_to(HERE.parent)}: {len(pages)} pages, {len(paragraphs)} paragraphs")


if __name__ == "__main__":
    main()
