"""Specification of parse_file: one file in, a title and structural blocks in reading order out."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.errors import DependencyError

from ragtune.errors import InputError, ParseError
from ragtune.ingest import parsers
from ragtune.ingest.parsers import SUPPORTED_EXTENSIONS, parse_file
from ragtune.testing.pdf import write_text_pdf
from ragtune.types import Block, ParsedDocument

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "docs"


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def kinds(doc: ParsedDocument) -> list[str]:
    return [block.kind for block in doc.blocks]


def texts(doc: ParsedDocument) -> list[str]:
    return [block.text for block in doc.blocks]


def parse_error(path: Path) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse_file(path)
    return info.value


# --- dispatch and errors common to every format -------------------------------------------------------------


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


# --- plain text ---------------------------------------------------------------------------------------------


def test_txt_paragraphs_are_split_on_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "notes.txt", "First line\nstill first.\n\n\n  \nSecond paragraph.\r\n\r\nThird.\n")
    doc = parse_file(path)
    assert doc.title == ""
    assert doc.blocks == (
        Block("paragraph", "First line\nstill first."),
        Block("paragraph", "Second paragraph."),
        Block("paragraph", "Third."),
    )


# --- markdown -----------------------------------------------------------------------------------------------

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


# --- HTML ---------------------------------------------------------------------------------------------------

HTML = """\
<!DOCTYPE html>
<html>
<head>
  <title>Hybrid &amp; Dense Retrieval</title>
  <style>p { color: red }</style>
  <script>console.log("script text")</script>
</head>
<body>
  <header><a href="/">Site banner</a></header>
  <nav><ul><li>Home</li><li>Docs</li></ul></nav>
  <main>
    <article>
      <h1>How <em>search</em> works</h1>
      <p>BM25 &lt;and&gt; dense&nbsp;vectors.<br>Second line.</p>
      Loose text in the article.
      <div>Div text <span>with inline</span><p>a paragraph inside</p>trailing div text</div>
      <ul>
        <li>outer item<ul><li>inner item</li></ul></li>
        <li><p>item with paragraph</p></li>
      </ul>
      <pre><code>ragtune search "query"
  --mode hybrid</code></pre>
      <blockquote><p>A quoted paragraph.</p></blockquote>
      <table>
        <tr><th>Mode</th><th>Uses</th></tr>
        <tr><td>bm25</td><td>word <b>overlap</b></td></tr>
      </table>
      <h3>Details</h3>
      <noscript>enable JavaScript</noscript>
      <form><label>Search</label><input name="q"></form>
      <svg><text>svg label</text></svg>
      <template><p>template text</p></template>
    </article>
  </main>
  <footer>Copyright page footer</footer>
</body>
</html>
"""


@pytest.fixture
def html_doc(tmp_path: Path) -> ParsedDocument:
    return parse_file(write(tmp_path, "page.html", HTML))


def test_html_title_comes_from_the_title_element(html_doc: ParsedDocument) -> None:
    assert html_doc.title == "Hybrid & Dense Retrieval"


def test_html_title_falls_back_to_first_h1(tmp_path: Path) -> None:
    doc = parse_file(
        write(tmp_path, "a.htm", "<body><h2>Sub</h2><h1>Main <i>Heading</i></h1><p>x</p></body>")
    )
    assert doc.title == "Main Heading"


def test_html_svg_title_in_the_body_is_not_the_page_title(tmp_path: Path) -> None:
    html = "<body><svg><title>icon</title></svg><h1>Real Title</h1><p>Text.</p></body>"
    assert parse_file(write(tmp_path, "a.html", html)).title == "Real Title"


def test_html_deeply_nested_markup_does_not_exhaust_recursion(tmp_path: Path) -> None:
    html = "<div>" * 3000 + "<span>" * 3000 + "deep text" + "</span>" * 3000 + "</div>" * 3000
    assert texts(parse_file(write(tmp_path, "a.html", html))) == ["deep text"]


def test_html_without_title_or_h1_has_empty_title(tmp_path: Path) -> None:
    assert parse_file(write(tmp_path, "a.html", "<p>Just text.</p>")).title == ""


def test_html_blocks_in_document_order(html_doc: ParsedDocument) -> None:
    assert html_doc.blocks == (
        Block("heading", "How search works", 1),
        Block("paragraph", "BM25 <and> dense\u00a0vectors.\nSecond line."),
        Block("paragraph", "Loose text in the article."),
        Block("paragraph", "Div text with inline"),
        Block("paragraph", "a paragraph inside"),
        Block("paragraph", "trailing div text"),
        Block("list_item", "outer item"),
        Block("list_item", "inner item"),
        Block("list_item", "item with paragraph"),
        Block("code", 'ragtune search "query"\n  --mode hybrid'),
        Block("quote", "A quoted paragraph."),
        Block("table", "Mode | Uses\nbm25 | word overlap"),
        Block("heading", "Details", 3),
    )


def test_html_chrome_and_non_content_elements_are_dropped(html_doc: ParsedDocument) -> None:
    everything = " ".join(texts(html_doc))
    for dropped in ["Site banner", "Home", "script text", "color", "JavaScript", "Search", "svg label",
                    "template text", "Copyright"]:  # fmt: skip
        assert dropped not in everything


def test_html_nested_text_is_emitted_once(html_doc: ParsedDocument) -> None:
    everything = "\n".join(texts(html_doc))
    for phrase in ["inner item", "a paragraph inside", "overlap", "A quoted paragraph."]:
        assert everything.count(phrase) == 1


def test_html_entities_are_decoded(tmp_path: Path) -> None:
    doc = parse_file(write(tmp_path, "a.html", "<p>caf&eacute; &amp; cr&#232;me &#x2014; &quot;ok&quot;</p>"))
    assert texts(doc) == ['caf\u00e9 & cr\u00e8me \u2014 "ok"']


def test_html_headings_keep_levels(tmp_path: Path) -> None:
    body = "".join(f"<h{n}>Level {n}</h{n}>" for n in range(1, 7))
    doc = parse_file(write(tmp_path, "a.html", body))
    assert [(b.text, b.level) for b in doc.blocks] == [(f"Level {n}", n) for n in range(1, 7)]


def test_html_footer_inside_an_article_is_content(tmp_path: Path) -> None:
    html = "<body><article><p>Body.</p><footer>Written by Ada.</footer></article><footer>Site</footer></body>"
    assert texts(parse_file(write(tmp_path, "a.html", html))) == ["Body.", "Written by Ada."]


def test_html_fragment_without_body_tags_still_parses(tmp_path: Path) -> None:
    doc = parse_file(write(tmp_path, "a.html", "Plain words<p>and a paragraph</p>"))
    assert texts(doc) == ["Plain words", "and a paragraph"]


def test_html_nested_table_rows_stay_in_their_own_table(tmp_path: Path) -> None:
    html = "<table><tr><td>outer</td><td><table><tr><td>inner</td></tr></table></td></tr></table>"
    blocks = parse_file(write(tmp_path, "a.html", html)).blocks
    assert [b.kind for b in blocks] == ["table"]
    assert blocks[0].text.count("inner") == 1


# --- PDF ----------------------------------------------------------------------------------------------------


def test_pdf_title_comes_from_metadata_and_is_its_first_heading(tmp_path: Path) -> None:
    path = tmp_path / "doc.pdf"
    write_text_pdf(path, [["Retrieval Notes", "Retrieval finds passages for the model to read."]],
                   title="Retrieval Notes")  # fmt: skip
    doc = parse_file(path)
    assert doc.title == "Retrieval Notes"
    assert doc.blocks == (
        Block("heading", "Retrieval Notes", 1),
        Block("paragraph", "Retrieval finds passages for the model to read."),
    )


def test_pdf_without_metadata_title_has_empty_title(tmp_path: Path) -> None:
    path = tmp_path / "doc.pdf"
    write_text_pdf(path, [["Some text here."]])
    assert parse_file(path).title == ""


def test_pdf_metadata_title_with_non_ascii_characters(tmp_path: Path) -> None:
    path = tmp_path / "doc.pdf"
    write_text_pdf(path, [["Body text."]], title="Caf\u00e9 \u2014 notes")
    assert parse_file(path).title == "Caf\u00e9 \u2014 notes"


def test_pdf_wrapped_lines_join_into_paragraphs_at_sentence_ends(tmp_path: Path) -> None:
    path = tmp_path / "doc.pdf"
    write_text_pdf(path, [[
        "Retrieval puts the relevant passage in the prompt at question time, which means the",
        "model does not need to memorise facts.",
        "Fine-tuning changes the weights. It teaches a format, a tone or a",
        "skill that examples show better than instructions do.",
    ]])  # fmt: skip
    assert parse_file(path).blocks == (
        Block(
            "paragraph",
            "Retrieval puts the relevant passage in the prompt at question time, which means the "
            "model does not need to memorise facts.",
        ),
        Block(
            "paragraph",
            "Fine-tuning changes the weights. It teaches a format, a tone or a skill that examples "
            "show better than instructions do.",
        ),
    )


def test_pdf_words_hyphenated_across_lines_are_rejoined(tmp_path: Path) -> None:
    path = tmp_path / "doc.pdf"
    write_text_pdf(
        path, [["Use a held-out set as an exam-", "ple of real questions, not Fine-", "Tuning data."]]
    )
    assert texts(parse_file(path)) == [
        "Use a held-out set as an example of real questions, not Fine-Tuning data."
    ]


def test_pdf_special_characters_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "doc.pdf"
    write_text_pdf(path, [["Parentheses (like these) and a back\\slash survive, as does caf\u00e9."]])
    assert texts(parse_file(path)) == [
        "Parentheses (like these) and a back\\slash survive, as does caf\u00e9."
    ]


def test_pdf_headings_and_bullets_are_recognised_conservatively(tmp_path: Path) -> None:
    path = tmp_path / "doc.pdf"
    write_text_pdf(path, [[
        "When to Use Retrieval",
        "Use retrieval when answers depend on documents that change or that the model never saw.",
        "- Facts change weekly.",
        "- Answers must cite",
        "WHEN TO FINE-TUNE",
        "Fine-tune when the model knows enough but answers in the wrong format or tone.",
        "Short Title Case Line",
    ]])  # fmt: skip
    assert parse_file(path).blocks == (
        Block("heading", "When to Use Retrieval", 2),
        Block("paragraph", "Use retrieval when answers depend on documents that change or that the model "
                           "never saw."),
        Block("list_item", "Facts change weekly."),
        Block("list_item", "Answers must cite"),
        Block("heading", "WHEN TO FINE-TUNE", 2),
        Block("paragraph", "Fine-tune when the model knows enough but answers in the wrong format or tone."),
        # Not a heading: nothing follows it.
        Block("paragraph", "Short Title Case Line"),
    )  # fmt: skip


def test_pdf_sentence_case_short_line_is_not_a_heading(tmp_path: Path) -> None:
    path = tmp_path / "doc.pdf"
    write_text_pdf(
        path, [["This is short.", "A longer paragraph follows here and goes on for a while, as they do."]]
    )
    assert kinds(parse_file(path)) == ["paragraph", "paragraph"]


def test_pdf_pages_are_read_in_order_and_a_paragraph_may_cross_a_page_break(tmp_path: Path) -> None:
    path = tmp_path / "doc.pdf"
    write_text_pdf(path, [
        ["Page one starts here.", "This sentence runs over the page"],
        ["break and ends on page two.", "Page two has its own paragraph.", "2"],
    ])  # fmt: skip
    assert texts(parse_file(path)) == [
        "Page one starts here.",
        "This sentence runs over the page break and ends on page two.",
        "Page two has its own paragraph.",  # the trailing page number is dropped
    ]


def test_pdf_with_no_text_layer_asks_for_ocr(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    write_text_pdf(path, [[], []])
    assert parse_error(path).reason == "no extractable text (scanned PDF? run OCR first)"


def test_truncated_pdf_is_not_readable(tmp_path: Path) -> None:
    good = tmp_path / "good.pdf"
    write_text_pdf(good, [["Some text that will be cut off."]])
    path = write(tmp_path, "cut.pdf", good.read_bytes()[:60])
    error = parse_error(path)
    assert error.reason.startswith("not a readable PDF: ")
    assert "Traceback" not in error.reason and "\n" not in error.reason


def test_garbage_with_a_pdf_name_is_not_readable(tmp_path: Path) -> None:
    path = write(tmp_path, "fake.pdf", b"this is not a pdf at all, just text pretending\n" * 3)
    assert parse_error(path).reason.startswith("not a readable PDF: ")


def encrypted_copy(source: Path, target: Path, user_password: str) -> None:
    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="RC4-128")
    buffer = BytesIO()
    writer.write(buffer)
    target.write_bytes(buffer.getvalue())


def test_encrypted_pdf_needing_a_password_is_rejected(tmp_path: Path) -> None:
    plain = tmp_path / "plain.pdf"
    write_text_pdf(plain, [["Secret text."]])
    locked = tmp_path / "locked.pdf"
    encrypted_copy(plain, locked, user_password="hunter2")
    reason = parse_error(locked).reason
    assert "encrypted" in reason and "password" in reason


def test_encrypted_pdf_with_empty_user_password_opens(tmp_path: Path) -> None:
    plain = tmp_path / "plain.pdf"
    write_text_pdf(plain, [["Readable without a password."]])
    locked = tmp_path / "owner-only.pdf"
    encrypted_copy(plain, locked, user_password="")
    assert texts(parse_file(locked)) == ["Readable without a password."]


def test_aes_pdf_without_the_crypto_package_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pypdf raises DependencyError for AES encryption when `cryptography` is missing; imitate that here, since
    # writing a real AES-encrypted PDF needs the very package that is missing.
    def reader_needing_crypto(stream: object) -> None:
        raise DependencyError("cryptography>=3.1 is required for AES algorithm")

    monkeypatch.setattr(parsers, "PdfReader", reader_needing_crypto)
    path = tmp_path / "aes.pdf"
    write_text_pdf(path, [["Text."]])
    reason = parse_error(path).reason
    assert "encrypted PDF (AES)" in reason and "pip install cryptography" in reason


def test_pdf_writer_rejects_pages_that_do_not_fit(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="split it into pages"):
        write_text_pdf(tmp_path / "x.pdf", [["line"] * 200])


def test_pdf_writer_output_is_strictly_valid(tmp_path: Path) -> None:
    path = tmp_path / "x.pdf"
    write_text_pdf(path, [["one"], ["two"]], title="T")
    reader = PdfReader(path, strict=True)  # strict mode fails on a wrong xref offset
    assert [page.extract_text() for page in reader.pages] == ["one", "two"]


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


def test_demo_pdf_round_trips_its_source_paragraphs() -> None:
    source = (EXAMPLES.parent / "rag-vs-finetuning.txt.src").read_text(encoding="utf-8")
    expected_paragraphs = [" ".join(p.split()) for p in source.split("\n\n") if p.strip()]
    parsed = [" ".join(block.text.split()) for block in parse_file(EXAMPLES / "rag-vs-finetuning.pdf").blocks]
    # Bullets lose their marker when they become list items; compare without it.
    expected = [p[2:] if p.startswith("- ") else p for p in expected_paragraphs]
    assert parsed == expected
