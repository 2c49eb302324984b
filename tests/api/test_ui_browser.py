"""The web UI of `ragtune serve` in a real headless Chromium against a real server (a `ragtune serve` subprocess
with the fake models of ``ragtune.testing``): sign in with a key, ask and watch the streamed answer, open a
citation and find exactly the quoted characters highlighted, upload a file, find it in the list and by search,
delete it; the audit browser, diagnose report and adapters views; a narrow (380px) screen. Screenshots are kept
under ``test-artifacts/ui/``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest
from tests.conftest import REPO
from tests.serving import chromium, fake_models_env, free_port, stop, wait_healthy

ARTIFACTS = REPO / "test-artifacts" / "ui"
MEMOS = REPO / "examples" / "eval"

pytestmark = pytest.mark.browser

# A long document whose cited sentence sits far below the fold, after characters outside the Basic Multilingual
# Plane (offsets are code points on the server, UTF-16 units in the browser: the highlight must not drift).
FILLER = "".join(f"## Section {i}\n\nParagraph {i} of the handbook 🦩 covers routine matters such as desks, badges "
                 "and lunch. Nothing else happens here.\n\n" for i in range(40))
HERON = ("# Project Heron 🦩🦩\n\n" + FILLER + "## Release\n\n"
         "Project Heron ships on 14 March after the final security review.\n\n"
         "The Heron launch team meets every Tuesday in room 4.\n")
KESTREL = ("# Kestrel\n\nKestrel is the internal billing service. Kestrel invoices customers on the first day of "
           "every month.\n")
PAYROLL = "# Payroll\n\nThe payroll secret for the hr group: salaries are reviewed every October.\n"
FALCON = "# Falcon\n\nThe Falcon telescope calibrates its mirrors at dawn with a quartzite reference plate.\n"


# ---- the server ---------------------------------------------------------------------------------------------------


def _cli(home: Path, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "ragtune.cli.main", "--home", str(home), *args, "--json"],
                          capture_output=True, text=True, env=fake_models_env(), cwd=REPO, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _call(base: str, key: str, method: str, path: str, body: bytes | None = None,
          content_type: str | None = None) -> tuple[int, dict | str]:
    request = urllib.request.Request(base + path, data=body, method=method)
    request.add_header("Authorization", f"Bearer {key}")
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, raw, kind = response.status, response.read(), response.headers.get_content_type()
    except urllib.error.HTTPError as exc:
        status, raw, kind = exc.code, exc.read(), exc.headers.get_content_type()
    return status, (json.loads(raw) if kind == "application/json" else raw.decode())


def _upload(base: str, key: str, name: str, text: str, source: str, groups: str | None = None) -> dict:
    boundary = "ragtune-test-boundary"
    fields = [("source", source)] + ([("groups", groups)] if groups is not None else [])
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                 f"Content-Type: text/markdown\r\n\r\n{text}\r\n--{boundary}--\r\n")
    status, body = _call(base, key, "POST", "/v1/documents", "".join(parts).encode(),
                         f"multipart/form-data; boundary={boundary}")
    assert status in (200, 201), body
    return body


def _diagnose_run(home: Path) -> None:
    """A diagnose run with its HTML report in the home (runs/), made with the fake models before the server
    starts."""
    from tests.evaluate.test_report_browser import COST_SHEET

    from ragtune import Workspace
    from ragtune.testing import FakeEmbedder, FakeGenerators

    home.mkdir(parents=True, exist_ok=True)
    (home / "prices.yaml").write_text(COST_SHEET)  # the Cost view and the report's cost section price with it
    workspace = Workspace(home, embedder=FakeEmbedder(), generators=FakeGenerators())
    workspace.evaluation.diagnose(MEMOS / "memos_qa.jsonl", corpus=MEMOS / "memos_corpus.jsonl", limit=6,
                                  report=home.parent / "report.html")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A `ragtune serve` subprocess (fake models) with three documents and two keys: ``user`` (group eng, the one
    the UI signs in with) and ``admin``. Yields a dict with base, keys, home."""
    home = tmp_path_factory.mktemp("ui") / "home"
    _diagnose_run(home)
    admin = _cli(home, "keys", "create", "--admin", "--name", "ui-admin")["key"]
    user = _cli(home, "keys", "create", "--groups", "eng", "--name", "ui-user")["key"]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with open(home.parent / "server.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "ragtune.cli.main", "--home", str(home), "serve", "--host",
                                 "127.0.0.1", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT,
                                env=fake_models_env(), cwd=REPO, start_new_session=True)
    try:
        wait_healthy(base, proc, log=home.parent / "server.log")
        _upload(base, admin, "heron.md", HERON, "handbook", "eng")
        _upload(base, admin, "kestrel.md", KESTREL, "handbook")
        _upload(base, admin, "payroll.md", PAYROLL, "hr-files", "hr")
        yield {"base": base, "user": user, "admin": admin, "home": home, "log": home.parent / "server.log"}
    finally:
        stop(proc)


# ---- the browser --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    yield from chromium()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ignore = ARTIFACTS.parent / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# screenshots written by the browser tests\n*\n")
    return ARTIFACTS


def shot(page, artifacts: Path, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    shutil.copy(path, artifacts / path.name)
    return path


class Watch:
    """Every request the page makes (all must stay on the server) and every console error."""

    def __init__(self, page, base: str) -> None:
        self.host = urlparse(base).netloc
        self.requests: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def external(self) -> list[str]:
        return [u for u in self.requests
                if urlparse(u).scheme not in ("blob", "data", "about") and urlparse(u).netloc != self.host]


def sign_in(page, base: str, key: str) -> None:
    page.goto(base + "/", wait_until="load")
    page.get_by_label("API key").fill(key)
    page.get_by_label("API key").press("Enter")
    page.locator("#who").wait_for(state="visible")


def sse_final(body: str) -> tuple[list[str], dict]:
    """The content deltas and the ``ragtune`` object of a streamed chat completion."""
    deltas, final = [], None
    for event in body.split("\n\n"):
        data = "\n".join(line[len("data:"):].lstrip() for line in event.splitlines() if line.startswith("data:"))
        if not data or data == "[DONE]":
            continue
        chunk = json.loads(data)
        deltas += [c["delta"]["content"] for c in chunk["choices"] if c.get("delta", {}).get("content")]
        final = chunk.get("ragtune", final)
    assert final is not None, body
    return deltas, final


# Tees the body of every chat completion the page fetches, so the test reads the very stream the UI consumed
# (DevTools does not keep the bodies of streamed responses).
TEE_CHAT = """(() => {
  const original = window.fetch;
  window.__chat = [];
  window.fetch = async (...args) => {
    const response = await original(...args);
    const url = typeof args[0] === "string" ? args[0] : args[0].url;
    if (!url.endsWith("/v1/chat/completions") || !response.body) return response;
    const [forPage, forTest] = response.body.tee();
    const record = {text: "", reads: 0, done: false};
    window.__chat.push(record);
    (async () => {
      const reader = forTest.getReader(), decoder = new TextDecoder();
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        record.reads += 1;
        record.text += decoder.decode(value, {stream: true});
      }
      record.done = true;
    })();
    return new Response(forPage, {status: response.status, statusText: response.statusText,
                                  headers: response.headers});
  };
})();"""


def new_page(browser, **kw):
    page = browser.new_page(**kw)
    page.add_init_script(TEE_CHAT)
    return page


def ask(page, question: str) -> tuple[list[str], dict]:
    """Ask through the form (Enter submits); the content deltas and ``ragtune`` object of the streamed answer."""
    page.get_by_role("link", name="Ask").click()
    box = page.get_by_label("Question")
    box.fill(question)
    before = page.evaluate("window.__chat.length")
    box.press("Enter")
    page.wait_for_function("n => window.__chat.length > n && window.__chat[window.__chat.length - 1].done", arg=before)
    page.wait_for_selector("#answer[aria-busy='false']")
    return sse_final(page.evaluate("window.__chat[window.__chat.length - 1].text"))


# ---- tests --------------------------------------------------------------------------------------------------------


def test_ask_cite_upload_search_delete(browser, server, artifacts, tmp_path):
    page = new_page(browser, viewport={"width": 1280, "height": 900})
    watch = Watch(page, server["base"])
    page.on("dialog", lambda dialog: dialog.accept())  # the delete confirmation

    # a wrong key is refused, and nothing is stored
    page.goto(server["base"] + "/", wait_until="load")
    page.get_by_label("API key").fill("rt_nope_nope")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("That key was not accepted.").wait_for()
    assert page.evaluate("sessionStorage.length") == 0

    sign_in(page, server["base"], server["user"])
    assert "ui-user" in page.locator("#who").inner_text() and "eng" in page.locator("#who").inner_text()

    # ---- ask: the answer streams in, its citations are buttons
    deltas, final = ask(page, "When does Project Heron ship?")
    assert len(deltas) > 1, "the answer should arrive as several token deltas"
    assert not final["abstained"] and final["citations"], final
    assert "14 March" in page.locator("#answer").inner_text()
    shot(page, artifacts, tmp_path, "desktop-answer")

    # ---- a citation opens its document with exactly the quoted characters highlighted, in view
    button = page.locator("#answer button.cite").first
    n = int(button.get_attribute("data-n"))
    citation = next(c for c in final["citations"] if c["n"] == n)
    button.click()
    mark = page.locator("#doc-text mark")
    mark.wait_for()
    assert page.locator("#view-doc").is_visible()
    assert mark.count() == 1
    assert mark.text_content() == citation["quote"]
    assert "Project Heron ships on 14 March" in citation["quote"]
    assert page.locator("#doc-title").inner_text() == "Project Heron 🦩🦩"
    assert page.evaluate("document.activeElement.id") == "cited"  # focus moved to the highlight
    in_view = page.evaluate("""() => {
        const box = document.querySelector('#doc-text'), r = document.querySelector('#doc-text mark')
            .getBoundingClientRect(), b = box.getBoundingClientRect();
        return box.scrollTop > 0 && r.top >= b.top && r.bottom <= b.bottom && r.bottom <= innerHeight;
    }""")
    assert in_view, "the highlighted span must be scrolled into view"
    assert page.locator("#doc-warning").is_hidden()
    shot(page, artifacts, tmp_path, "desktop-citation")

    # ---- documents: the key sees its group's and public documents, not hr's
    page.get_by_role("link", name="Documents").click()
    rows = page.locator("#documents-table tbody tr")
    rows.first.wait_for()
    ids = rows.evaluate_all("rows => rows.map(r => r.dataset.docId)")
    assert ids == ["handbook/heron.md", "handbook/kestrel.md"], ids
    heron = page.locator("#documents-table tr[data-doc-id='handbook/heron.md']")
    assert "handbook" in heron.inner_text() and "eng" in heron.inner_text()
    assert "indexed" in heron.locator("td[data-label='Sync state']").inner_text()

    # ---- upload through the form
    falcon = tmp_path / "falcon.md"
    falcon.write_text(FALCON, encoding="utf-8")
    page.get_by_label("File (.txt, .md, .html, .pdf)").set_input_files(str(falcon))
    page.get_by_role("button", name="Upload", exact=True).click()
    uploaded = page.locator("#documents-table tr[data-doc-id='uploads/falcon.md']")
    uploaded.wait_for()
    assert "Uploaded falcon.md as uploads/falcon.md" in page.locator("#upload-state").inner_text()
    assert "eng" in uploaded.inner_text()  # default groups: the key's own
    shot(page, artifacts, tmp_path, "desktop-documents")

    # ---- ... and find it by search, then open the hit
    page.get_by_role("link", name="Search").click()
    page.get_by_label("Search query").fill("Falcon telescope mirrors")
    page.get_by_label("Search query").press("Enter")
    hit = page.locator("#search-results li[data-doc-id='uploads/falcon.md']")
    hit.wait_for()
    hit.get_by_role("button").click()
    page.locator("#doc-text mark").wait_for()
    assert "calibrates its mirrors at dawn" in page.locator("#doc-text mark").inner_text()

    # ---- delete it: gone from the list and from search
    page.get_by_role("link", name="Documents").click()
    page.locator("#documents-table tr[data-doc-id='uploads/falcon.md']").wait_for()
    page.get_by_role("button", name="Delete uploads/falcon.md").click()
    page.locator("#documents-table tr[data-doc-id='uploads/falcon.md']").wait_for(state="detached")
    assert "Deleted uploads/falcon.md" in page.locator("#documents-state").inner_text()
    page.get_by_role("link", name="Search").click()
    page.get_by_label("Search query").fill("Falcon telescope mirrors")
    with page.expect_response(lambda r: r.url.endswith("/v1/search")):
        page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_function("!document.querySelector('#search-state').textContent.includes('Searching')")
    assert page.locator("#search-results li[data-doc-id='uploads/falcon.md']").count() == 0

    # ---- the audit browser: the answer above is there, the chain verifies
    page.get_by_role("link", name="Audit").click()
    page.locator("#audit-badge.ok").wait_for()
    assert "chain verified" in page.locator("#audit-badge").inner_text()
    record = page.locator(f"#audit-table tr[data-record-id='{final['audit_id']}']")
    record.wait_for()
    assert "When does Project Heron ship?" in record.inner_text()
    record.get_by_role("link").click()
    page.locator("#audit-record-summary dd").first.wait_for()
    summary = page.locator("#audit-record-summary").inner_text()
    assert "When does Project Heron ship?" in summary and "14 March" in summary
    shot(page, artifacts, tmp_path, "desktop-audit")

    # ---- sign out: the key is forgotten
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("API key").wait_for()
    assert page.evaluate("sessionStorage.length") == 0

    assert watch.external() == [], watch.external()
    assert not [e for e in watch.errors if "401" not in e], watch.errors
    page.close()


def test_narrow_screen(browser, server, artifacts, tmp_path):
    page = new_page(browser, viewport={"width": 380, "height": 800}, device_scale_factor=2)
    sign_in(page, server["base"], server["user"])
    _, final = ask(page, "When does Project Heron ship?")
    assert final["citations"]
    page.locator("#answer button.cite").first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 380, "no sideways scrolling"
    shot(page, artifacts, tmp_path, "narrow-answer")
    page.get_by_role("link", name="Documents").click()
    page.locator("#documents-table tbody tr").first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 380
    cell = page.locator("#documents-table tbody tr").first.locator("td[data-label='Source']")
    label = cell.evaluate("td => getComputedStyle(td, '::before').content")
    assert label == '"Source"'  # table cells are labelled cards on a narrow screen
    shot(page, artifacts, tmp_path, "narrow-documents")
    page.close()


def test_keyboard_only(browser, server):
    """Sign in, ask and open a citation with the keyboard alone."""
    page = new_page(browser, viewport={"width": 1000, "height": 800})
    page.goto(server["base"] + "/", wait_until="load")
    page.locator("#key").focus()
    page.keyboard.type(server["user"])
    page.keyboard.press("Enter")
    page.locator("#who").wait_for()
    page.locator("#question").focus()
    page.keyboard.type("When does Project Heron ship?")
    page.keyboard.press("Enter")
    page.locator("#answer button.cite").first.wait_for()
    page.locator("#answer button.cite").first.focus()
    page.keyboard.press("Enter")
    page.locator("#doc-text mark").wait_for()
    assert "Project Heron ships on 14 March" in page.locator("#doc-text mark").inner_text()
    page.close()


def test_admin_views_diagnose_report_and_adapters(browser, server, artifacts, tmp_path):
    page = new_page(browser, viewport={"width": 1280, "height": 900})
    watch = Watch(page, server["base"])
    sign_in(page, server["base"], server["admin"])
    assert "(admin)" in page.locator("#who").inner_text()

    # an admin sees every document, hr's too, and the sources with their sync time
    page.get_by_role("link", name="Documents").click()
    page.locator("#documents-table tr[data-doc-id='hr-files/payroll.md']").wait_for()
    page.locator("#sources-table tr[data-source='handbook']").wait_for()
    assert "hr-files/payroll.md" in page.locator("#documents-table").inner_text()

    # the diagnose report, fetched with the key and shown from a blob URL in a sandboxed frame
    page.get_by_role("link", name="Diagnose").click()
    run = page.locator("#diagnose-list li").first
    run.wait_for()
    assert "verdict" in run.inner_text()
    run.get_by_role("link").click()
    verdict = page.frame_locator("#diagnose-frame").locator("#verdict")
    verdict.wait_for()
    assert verdict.inner_text().startswith("Verdict:")
    frame = page.locator("#diagnose-frame")
    assert frame.get_attribute("src").startswith("blob:")
    assert frame.get_attribute("sandbox") == ""
    shot(page, artifacts, tmp_path, "desktop-diagnose")

    # adapters: none trained in this home
    page.get_by_role("link", name="Adapters").click()
    page.get_by_text("No adapters yet").wait_for()
    assert watch.external() == [] and watch.errors == [], (watch.external(), watch.errors)
    page.close()


def test_a_non_admin_key_is_told_diagnose_is_admin_only(browser, server):
    page = new_page(browser)
    sign_in(page, server["base"], server["user"])
    page.get_by_role("link", name="Diagnose").click()
    page.get_by_text("admin keys only").wait_for()
    assert page.locator("#diagnose-list li").count() == 0
    page.close()


def test_the_cost_view_plots_cost_against_volume_with_break_evens(browser, server, artifacts, tmp_path):
    page = new_page(browser, viewport={"width": 1280, "height": 900})
    watch = Watch(page, server["base"])
    sign_in(page, server["base"], server["admin"])
    page.get_by_role("link", name="Cost").click()
    recommendation = page.locator("#cost-recommendation")
    recommendation.wait_for()
    assert " now" in recommendation.inner_text() and "diagnose says" in recommendation.inner_text()
    assert "300 queries a day (given" in page.locator("#cost-state").inner_text()
    chart = page.locator("#cost-svg")
    box = chart.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 150, box
    assert chart.locator("path.cost-line").count() == 4
    assert chart.locator("circle.break-even").count() >= 1
    assert page.locator("#cost-table tbody tr").count() == 4
    assert "Dots are break-evens" in page.locator("#cost-caption").inner_text()
    shot(page, artifacts, tmp_path, "desktop-cost")

    # another volume: the table and the line marking it follow
    volume = page.get_by_role("spinbutton", name="Queries a day")
    volume.fill("5000")
    volume.press("Enter")
    page.get_by_text("At 5,000 queries a day (given: --volume)").wait_for()
    # the diagnose report in the UI carries the same cost section
    page.get_by_role("link", name="Diagnose").click()
    page.locator("#diagnose-list li a").first.click()
    page.frame_locator("#diagnose-frame").locator("#plot-cost svg").wait_for()
    assert watch.external() == [] and watch.errors == [], (watch.external(), watch.errors)
    page.close()


def test_a_non_admin_key_is_told_costs_are_admin_only(browser, server):
    page = new_page(browser)
    sign_in(page, server["base"], server["user"])
    page.get_by_role("link", name="Cost").click()
    page.get_by_text("Costs are shown to admin keys only").wait_for()
    assert page.locator("#cost-box").is_hidden()
    page.close()
