"""The diagnose HTML report, built from real runs of the fake embedder and generator (no model is loaded)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from tests.conftest import REPO, write

from ragtune import Workspace
from ragtune.components.evaluation import Evaluator
from ragtune.errors import InputError
from ragtune.evaluate import plots
from ragtune.evaluate.bootstrap import Estimate
from ragtune.evaluate.diagnose import ItemScores, diagnose
from ragtune.evaluate.report import pick_examples, write_report
from ragtune.testing import FakeEmbedder, FakeGenerator, FakeGenerators
from ragtune.testing.generator import extractive_reply

MEMOS = REPO / "examples" / "eval"
HOSTILE = "<script>alert('pwned')</script>"


def jsonl(path: Path, rows: list[dict]) -> Path:
    return write(path, "\n".join(json.dumps(r) for r in rows) + "\n")


def hostile_reader(messages) -> str:
    """The fake extractive reader, except that closed-book it answers with markup a browser would run."""
    reply = extractive_reply(messages)
    return f"{HOSTILE} {reply}" if reply == "I do not know." else reply


def make_evaluator(home: Path, generator=None) -> Evaluator:
    workspace = Workspace(
        home, embedder=FakeEmbedder(), generators=FakeGenerators(generator=generator or FakeGenerator(hostile_reader)))
    return workspace.evaluation


class Attributes(HTMLParser):
    """Every (tag, attribute, value) in a document, and every id."""

    def __init__(self) -> None:
        super().__init__()
        self.attributes: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.attributes += [(tag, name, value or "") for name, value in attrs]


def attributes(document: str) -> list[tuple[str, str, str]]:
    parser = Attributes()
    parser.feed(document)
    return parser.attributes


@pytest.fixture
def memos_report(home: Path, tmp_path: Path):
    """A rag diagnosis of the memo set with retrieval, written to a report in a folder that does not exist yet."""
    path = tmp_path / "reports" / "memos.html"
    diagnosis, runs, returned = make_evaluator(home).diagnose(
        MEMOS / "memos_qa.jsonl", corpus=MEMOS / "memos_corpus.jsonl", limit=10, report=path)
    return diagnosis, runs, returned, path.read_text(encoding="utf-8")


def test_diagnose_writes_the_report_where_asked_and_returns_its_path(memos_report, home):
    diagnosis, runs, returned, document = memos_report
    assert returned.name == "memos.html" and returned.is_file()
    assert document.startswith("<!doctype html>") and document.rstrip().endswith("</html>")
    assert list((home / "runs").glob("diagnose-*.json")), "the saved JSON result is kept as well"
    assert not list(returned.parent.glob(".*.tmp")), "no temporary file is left behind"


def test_the_report_shows_the_verdict_every_condition_and_the_plots(memos_report):
    diagnosis, runs, _, document = memos_report
    assert diagnosis.verdict == "rag"
    assert re.search(r'<h1 id="verdict">Verdict: <span class="verdict">rag</span>', document)
    for condition in runs:
        assert condition in document
    assert document.count("<svg") >= 2
    for line in diagnosis.evidence:
        assert line.replace("'", "&#x27;") in document  # evidence bullets, escaped like all text
    for recommendation in diagnosis.recommendations:
        assert recommendation in document


def test_the_report_loads_nothing_from_the_network(memos_report):
    document = memos_report[3]
    external = [(tag, name, value) for tag, name, value in attributes(document)
                if name in ("src", "href", "xlink:href") and not value.startswith("#")]
    assert external == []
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", document)  # no CSS or SVG fetches either
    assert "<?xml" not in document and "<!DOCTYPE svg" not in document  # SVG prologs are invalid inside HTML


def test_ids_are_unique_across_the_inline_plots(memos_report):
    ids = [value for _, name, value in attributes(memos_report[3]) if name == "id"]
    assert ids and len(ids) == len(set(ids))


def test_untrusted_model_output_is_escaped(memos_report):
    document = memos_report[3]
    assert HOSTILE not in document
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in document
    assert not [tag for tag, _, _ in attributes(document) if tag == "script"]


def test_retrieval_is_compared_with_the_gold_context_and_a_citation_recall_proxy(memos_report):
    document = memos_report[3]
    section = document.split('<section id="retrieval">', 1)[1].split("</section>", 1)[0]
    assert "oracle (gold context in the prompt)" in section and "retrieval (the full ask pipeline)" in section
    # the fake reader cites the passage it answers from, so the proxy counts answers citing a gold memo
    assert re.search(r"\d+ of 10 answerable questions with gold documents \(\d+%\) got an answer citing", section)


def test_failed_items_are_shown_side_by_side_with_each_condition(memos_report):
    diagnosis, runs, _, document = memos_report
    section = document.split('<section id="examples">', 1)[1].split("</section>", 1)[0]
    shown = re.findall(r'<div class="example"><h3>([^<]+) — ([a-z ]+)</h3>', section)
    assert 0 < len(shown) <= 8
    assert {failure for _, failure in shown} == {k.replace("_", " ") for k, v in diagnosis.failures.items() if v}
    assert section.count("<th>closed_book · ") == len(shown) and "expected:" in section


def test_the_metrics_table_and_footer_name_every_run(memos_report):
    _, runs, _, document = memos_report
    metrics = document.split('<section id="metrics">', 1)[1].split("</section>", 1)[0]
    for run in runs.values():
        for name in run.metrics:
            assert f"<td>{name}</td>" in metrics
    footer = document.split("<footer>", 1)[1]
    assert all(run.run_id in footer for run in runs.values())
    from importlib.metadata import version

    assert "memos_qa.jsonl" in footer and "0.80" in footer and version("ragtune") in footer


def behaviour_rows(n: int) -> list[dict]:
    return [{"id": f"e{i}", "input": f"Cafe {i} in the centre.",
             "output": json.dumps({"name": f"Cafe {i}", "area": "centre"})} for i in range(n)]


def test_a_finetune_verdict_comes_with_a_training_data_rule_of_thumb(home, tmp_path):
    qa = jsonl(tmp_path / "e2e.jsonl", behaviour_rows(6))
    diagnosis, _, path = make_evaluator(home, FakeGenerator("Sure! " + HOSTILE)).diagnose(
        qa, report=tmp_path / "e2e.html")
    document = path.read_text()
    assert diagnosis.verdict == "finetune"
    note = document.split('<div class="note" id="training-data">', 1)[1].split("</div>", 1)[0]
    assert "rule of thumb" in note.lower() and "few hundred" in note and "not a measurement" in note
    assert "6 of 6 behaviour items (100%)" in note
    assert "Retrieval did not run" in document  # said in a sentence, not left as an empty section


def test_a_rag_verdict_has_no_training_data_note(memos_report):
    assert 'id="training-data"' not in memos_report[3]


def test_an_inconclusive_verdict_is_marked_with_the_items_needed(home, tmp_path):
    rows = behaviour_rows(3)  # the fake gets one of three right: far too few items to decide anything
    qa = jsonl(tmp_path / "few.jsonl", rows)
    first = rows[0]["output"]
    diagnosis, _, path = make_evaluator(home, FakeGenerator(lambda m: first if "Cafe 0" in m[-1]["content"] else "x")
                                    ).diagnose(qa, report=tmp_path / "few.html")
    assert diagnosis.inconclusive
    headline = path.read_text().split("</h1>", 1)[0]
    assert '<span class="flag">inconclusive' in headline
    assert diagnosis.items_needed and f"about {diagnosis.items_needed} items would settle it" in headline


def test_a_report_path_that_is_a_folder_fails_before_any_model_runs(home, tmp_path):
    generator = FakeGenerator()
    with pytest.raises(InputError, match="is a folder"):
        make_evaluator(home, generator).diagnose(MEMOS / "memos_qa.jsonl", report=tmp_path)
    assert generator.calls == []


def test_write_report_replaces_an_old_report_in_one_step(tmp_path):
    path = write(tmp_path / "r.html", "old")
    assert write_report(path, "<p>new</p>") == path and path.read_text() == "<p>new</p>"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_examples_are_taken_in_turn_from_each_failure_class():
    knowledge = [ItemScores(f"k{i}", "qa", {"closed_book": 0, "oracle": 1}) for i in range(10)]
    behaviour = [ItemScores(f"b{i}", "behaviour", {"closed_book": 0, "few_shot": 0}) for i in range(2)]
    passing = [ItemScores("ok", "qa", {"closed_book": 1, "oracle": 1})]
    picked = pick_examples(knowledge + passing + behaviour, limit=5)
    assert [(s.item_id, c) for s, c in picked] == [
        ("k0", "knowledge"), ("b0", "behaviour"), ("k1", "knowledge"), ("b1", "behaviour"), ("k2", "knowledge")]


def test_the_report_examples_use_the_failure_classes_of_the_table_when_examples_hurt():
    # oracle + few-shot collapses on these questions: the four it passes are comprehension misses, as in the table
    scored = [ItemScores(f"q{k}", "qa", {"closed_book": 0.0, "oracle": float(k < 36),
                                         "oracle+few_shot": float(k >= 36)}) for k in range(40)]
    picked = {s.item_id: c for s, c in pick_examples(scored, limit=40)}
    assert {picked[f"q{k}"] for k in range(36, 40)} == {"comprehension"}
    assert diagnose(scored).failures["comprehension"] == 4


def test_plots_are_bare_svg_elements_drawn_without_fonts():
    svg = plots.condition_scores({"closed_book": Estimate(0.2, (0.1, 0.3), 20),
                                  "oracle": Estimate(0.7, (0.5, 0.9), 20)}, target=0.8)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "font-family" not in svg and "@font-face" not in svg  # text is drawn as paths
    bars = plots.failure_taxonomy({"knowledge": 3, "behaviour": 0})
    assert bars.startswith("<svg") and 'id="failures-' in bars and 'id="scores-' in svg
