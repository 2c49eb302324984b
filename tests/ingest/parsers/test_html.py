"""HTML files: content in document order, page chrome and non-content elements dropped, text emitted once."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.ingest.parsers.helpers import texts, write

from ragtune.ingest.parsers import parse_file
from ragtune.types import Block, ParsedDocument

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


def test_html_twenty_thousand_nested_divs_parse_to_their_blocks(tmp_path: Path) -> None:
    depth = 20_000
    html = "<div>" * depth + "<p>deep paragraph</p>loose tail" + "</div>" * depth + "<p>after</p>"
    assert texts(parse_file(write(tmp_path, "a.html", html))) == ["deep paragraph", "loose tail", "after"]


def test_html_deeply_nested_headers_and_footers_keep_the_chrome_rule(tmp_path: Path) -> None:
    # Whether a <header>/<footer> is page chrome depends on its ancestors; the walk carries that down (linear)
    # instead of climbing the ancestors of each one (quadratic at this depth).
    depth = 3_000
    inside = "<article>" + "<header>" * depth + "<p>article head</p>" + "</header>" * depth + "</article>"
    outside = "<div>" * depth + "<footer><p>site footer</p></footer>" + "</div>" * depth
    section = "<div>" * depth + "<section><div><footer>section footer</footer></div></section>" + "</div>" * depth
    blocks = texts(parse_file(write(tmp_path, "a.html", f"<body>{inside}{outside}{section}</body>")))
    assert blocks == ["article head", "section footer"]


def test_html_deeply_nested_tables_keep_rows_in_their_own_table(tmp_path: Path) -> None:
    depth = 2_000
    html = "<table><tr><td>" * depth + "core" + "</td></tr>" + "<tr><td>outer row</td></tr></table>" * depth
    [block] = parse_file(write(tmp_path, "a.html", html)).blocks
    # Two rows of its own; the first one's cell holds the text of every table nested in it, once.
    assert block.kind == "table"
    assert block.text.split("\n") == ["core" + "outer row" * (depth - 1), "outer row"]


def test_html_a_table_inside_a_caption_is_not_rows_of_the_outer_table(tmp_path: Path) -> None:
    html = "<table><caption>Cap <table><tr><td>in caption</td></tr></table></caption><tr><td>row</td></tr></table>"
    assert parse_file(write(tmp_path, "a.html", html)).blocks == (
        Block("paragraph", "Cap in caption"), Block("table", "row"),
    )


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
