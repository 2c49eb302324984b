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
