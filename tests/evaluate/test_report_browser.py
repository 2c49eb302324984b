"""The diagnose report in a real headless Chromium: it renders offline, its plots have a size, nothing is
fetched, and it prints."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest
from tests.conftest import REPO
from tests.serving import chromium

from ragtune import Workspace
from ragtune.testing import FakeEmbedder, FakeGenerator, FakeGenerators

MEMOS = REPO / "examples" / "eval"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    yield from chromium()


@pytest.fixture
def report(tmp_path: Path) -> Path:
    index = Workspace(tmp_path / "home", embedder=FakeEmbedder(), generators=FakeGenerators(generator=FakeGenerator()))
    _, _, path = index.evaluation.diagnose(MEMOS / "memos_qa.jsonl", corpus=MEMOS / "memos_corpus.jsonl", limit=10,
                                report=tmp_path / "report.html")
    return path


def test_the_report_renders_offline_with_visible_plots(browser, report, tmp_path):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(report.as_uri(), wait_until="load")

    verdict = page.locator("#verdict")
    assert verdict.is_visible() and verdict.inner_text().startswith("Verdict: rag")
    plots = page.locator("figure svg")
    assert plots.count() >= 2
    for k in range(plots.count()):
        box = plots.nth(k).bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 100, box
    assert page.locator("#examples .example").count() >= 1

    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    assert page.evaluate("document.body.scrollHeight") > 2000  # every section laid out, not a blank page

    external = [url for url in requested
                if urlparse(url).scheme not in ("file", "data", "about") and urlparse(url).hostname != "127.0.0.1"]
    assert external == [] and requested == [report.as_uri()]  # the page itself, and nothing else
    page.close()


def test_the_report_prints(browser, report, tmp_path):
    page = browser.new_page()
    page.goto(report.as_uri(), wait_until="load")
    pdf = page.pdf(path=str(tmp_path / "report.pdf"), format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    page.close()


COST_SHEET = """\
currency: USD
options:
  prompt: {api: {input_per_1m: 3, output_per_1m: 15}}
  rag: {api: {input_per_1m: 0.4, output_per_1m: 1.6}}
  finetune: {local: {per_hour: 0.9, seconds_per_query: 0.5}}
  rag+finetune: {local: {per_hour: 0.9, seconds_per_query: 0.6}}
training: {per_hour: 2.5}
embedding: {per_hour: 0.9}
given:
  queries_per_day: 300
  training_hours: 2
  eval_hours: 0.25
  retrain_every_days: 30
  embed_seconds_per_chunk: 0.004
  corpus_chunks: 20000
  chunks_changed_per_day: 150
"""


@pytest.fixture
def cost_report(tmp_path: Path) -> Path:
    """A diagnose report with a price sheet: tokens measured by diagnose's own runs, the rest given."""
    index = Workspace(tmp_path / "home", embedder=FakeEmbedder(), generators=FakeGenerators(generator=FakeGenerator()))
    prices = tmp_path / "prices.yaml"
    prices.write_text(COST_SHEET)
    _, _, path = index.evaluation.diagnose(MEMOS / "memos_qa.jsonl", corpus=MEMOS / "memos_corpus.jsonl", limit=10,
                                           report=tmp_path / "report.html", prices=prices)
    return path


def test_the_report_shows_cost_against_volume_with_break_evens(browser, cost_report, tmp_path):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(cost_report.as_uri(), wait_until="load")
    section = page.locator("section#cost")
    section.scroll_into_view_if_needed()
    assert section.is_visible()
    recommendation = page.locator("#cost-recommendation").inner_text()
    assert "now" in recommendation and "diagnose says rag" in recommendation
    plot = page.locator("#plot-cost svg")
    box = plot.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 150, box
    assert "break-evens" in page.locator("#plot-cost figcaption").inner_text()
    assert page.locator("#cost-table tbody tr").count() == 4
    shot = tmp_path / "cost.png"
    section.screenshot(path=str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    page.close()
