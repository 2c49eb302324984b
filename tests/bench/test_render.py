"""bench/render.py: the tables of docs/benchmarks.md are generated from bench/results/*.json, never typed."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sys
from pathlib import Path

import pytest
from tests.conftest import REPO

BENCH = REPO / "bench"
DOC = REPO / "docs" / "benchmarks.md"


def _load_renderer():
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))  # render.py imports its sibling _tables.py
    spec = importlib.util.spec_from_file_location("bench_render", BENCH / "render.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


render = _load_renderer()

STALE = """# Title

Prose before, kept as it is.

<!-- bench:alpha -->
| old | table |
<!-- /bench:alpha -->

Prose between.
<!-- bench:beta -->
<!-- /bench:beta -->
Prose after.
"""


def test_only_the_text_between_markers_is_replaced():
    out = render.replace_blocks(STALE, {"alpha": "| new | alpha |", "beta": "new beta"})
    assert out == STALE.replace("| old | table |", "| new | alpha |").replace(
        "<!-- bench:beta -->\n", "<!-- bench:beta -->\nnew beta\n"
    )


def test_rendering_twice_changes_nothing():
    blocks = {"alpha": "\nA\n\n", "beta": "B"}
    once = render.replace_blocks(STALE, blocks)
    assert render.replace_blocks(once, blocks) == once
    real = render.render_doc(DOC.read_text(encoding="utf-8"), render.RESULTS_DIR)
    assert render.render_doc(real, render.RESULTS_DIR) == real


@pytest.mark.parametrize("doc,fragment", [
    (STALE.replace("bench:beta", "bench:gamma"), "unknown block bench:gamma"),
    (STALE.replace("<!-- /bench:alpha -->\n", ""), "opens inside bench:alpha"),
    (STALE.replace("<!-- /bench:beta -->\n", ""), "bench:beta is never closed"),
    (STALE.replace("<!-- bench:beta -->\n<!-- /bench:beta -->\n", ""), "no block for: beta"),
])
def test_malformed_or_incomplete_docs_are_errors(doc, fragment):
    with pytest.raises(render.RenderError, match=re.escape(fragment)):
        render.replace_blocks(doc, {"alpha": "A", "beta": "B"})


@pytest.fixture
def results_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "results"
    shutil.copytree(render.RESULTS_DIR, folder)
    return folder


def test_a_results_file_without_its_commit_fails_loudly(results_copy, capsys):
    path = results_copy / "latency.json"
    payload = json.loads(path.read_text())
    del payload["git"]["commit"]
    path.write_text(json.dumps(payload))
    with pytest.raises(render.RenderError, match=r"latency\.json: no commit recorded"):
        render.render_doc(DOC.read_text(encoding="utf-8"), results_copy)
    doc = results_copy / "benchmarks.md"
    shutil.copy(DOC, doc)
    assert render.main(["--doc", str(doc), "--results", str(results_copy)]) == 2
    assert "latency.json: no commit recorded" in capsys.readouterr().err
    assert doc.read_text() == DOC.read_text()  # nothing written


def test_a_results_file_that_does_not_say_quick_or_full_fails(results_copy):
    path = results_copy / "finetune.json"
    payload = json.loads(path.read_text())
    del payload["quick"]
    path.write_text(json.dumps(payload))
    with pytest.raises(render.RenderError, match=r"finetune\.json: does not say whether it was a quick run"):
        render.load_results(results_copy, ["finetune"])


def test_the_committed_docs_are_what_the_results_render_to():
    for doc in render.DOCS:
        text = doc.read_text(encoding="utf-8")
        assert render.render_doc(text, render.RESULTS_DIR) == text, f"{doc}: run python bench/render.py"


def test_every_block_lives_in_exactly_one_doc(tmp_path):
    texts = {doc: doc.read_text(encoding="utf-8") for doc in render.DOCS}
    render.check_placed(texts)
    twice = {**texts, tmp_path / "copy.md": texts[render.DOC]}
    with pytest.raises(render.RenderError, match="exactly one doc"):
        render.check_placed(twice)


def test_every_block_names_the_commit_and_kind_of_its_run():
    blocks = render.render_blocks(render.load_results(render.RESULTS_DIR, list(render.SECTIONS)))
    for name in render.SECTIONS:
        payload = json.loads((render.RESULTS_DIR / f"{name}.json").read_text())
        first = blocks[name].splitlines()[0]
        assert f"commit `{payload['git']['commit'][:7]}`" in first
        assert ("quick run" if payload["quick"] else "full run") in first


def outside_markers(text: str) -> str:
    return re.sub(r"^<!-- bench:([\w-]+) -->$.*?^<!-- /bench:\1 -->$", "", text, flags=re.S | re.M)


@pytest.mark.parametrize("doc", render.DOCS, ids=lambda d: d.name)
def test_the_prose_outside_the_markers_states_no_figures(doc):
    prose = outside_markers(doc.read_text(encoding="utf-8"))
    figures = re.findall(r"\d+\.\d+|\d+ ?%|\d[\d,]* (?:s|ms|min|seconds|minutes)\b", prose)
    assert figures == [], "figures belong in generated blocks, not in the prose"


def _field_accuracy(value: float, lo: float, hi: float) -> dict:
    return {"metrics": {"field_accuracy": {"value": value, "ci95": [lo, hi], "n": 100}}}


@pytest.mark.parametrize(("ours", "met"), [(0.94, True), (0.95, True), (0.99, True), (0.90, False)])
def test_the_plain_script_goal_is_met_within_or_above_its_ci_only(ours, met):
    quality = {"adapter": _field_accuracy(ours, ours - 0.02, ours + 0.02),
               "plain_adapter": _field_accuracy(0.95, 0.93, 0.97)}
    check, measured, ok = render.plain_script_check(quality)
    assert ok is met
    assert measured == f"{ours:.3f} vs 0.950 [0.930, 0.970]"


def test_a_run_without_the_plain_script_misses_its_goal_as_not_measured():
    check = render.plain_script_check({"adapter": _field_accuracy(0.99, 0.98, 1.0)})
    assert check[1:] == ["not measured", False]


def _eval_speed(**extra) -> dict:
    condition = {"n": 4, "one_at_a_time_s": 8.0, "batched_s": 4.0, "one_at_a_time_items_per_s": 0.5,
                 "batched_items_per_s": 1.0, "speedup": 2.0, "identical_items": 4, **extra}
    totals = {"total_items": 4, "one_at_a_time_s": 8.0, "batched_s": 4.0, "one_at_a_time_items_per_s": 0.5,
              "batched_items_per_s": 1.0, "speedup": 2.0, "identical_items": 4}
    return {"args": {"seed": 7}, "results": {"items": 4, "batch_size": 32, "torch_threads": 2, "verdicts": {},
                                             "goal": 3.0, "conditions": {"oracle": condition}, **totals}}


def test_the_eval_speed_table_shows_what_bounds_batching_when_the_run_recorded_it():
    """Prompt and answer lengths say why a condition gains little: each prompt is prefilled alone on both
    sides."""
    block = render.eval_speed_block(_eval_speed(prompt_tokens_mean=812.5, answer_tokens_mean=11.2))
    header, _, oracle, total = block.split("\n\n")[1].splitlines()
    assert header.split("|")[-3:-1] == [" mean prompt tokens ", " mean answer tokens "]
    assert [c.strip() for c in oracle.split("|")[-3:-1]] == ["812.50", "11.20"]
    assert [c.strip() for c in total.split("|")[-3:-1]] == ["", ""]
    assert "mean prompt tokens" not in render.eval_speed_block(_eval_speed())  # older results: no columns


def test_the_bfloat16_side_is_judged_against_float32_one_at_a_time_and_counts_changed_answers():
    payload = _eval_speed()
    r = payload["results"]
    r["verdicts"] = {side: {"verdict": "rag", "inconclusive": False, "conditions": {"oracle": score}}
                     for side, score in (("one_at_a_time", 0.25), ("batched", 0.25), ("batched_bfloat16", 0.5))}
    r.update(identical_verdict=True, goal_met=False, goal_met_bfloat16=True, cpu_bf16=True, bfloat16={
        "conditions": {"oracle": {"batched_s": 2.0, "speedup": 4.0, "identical_items": 3}}, "batched_s": 2.0,
        "speedup": 4.0, "identical_items": 3, "identical_verdict": True})
    block = render.eval_speed_block(payload)
    assert "Speedup 2.00x (goal >= 3x): MISSED" in block
    _, oracle, total = block.split("\n\n")[-2].splitlines()[1:]
    assert [c.strip() for c in oracle.split("|")[1:-1]] == ["oracle", "2.0000", "4.00x", "3/4", "0.2500", "0.5000"]
    assert [c.strip() for c in total.split("|")[1:4]] == ["all", "2.0000", "4.00x"]
    assert block.endswith("identical to float32 one at a time. Speedup 4.00x (goal >= 3x, opt-in precision): met.")
    assert "bfloat16" not in render.eval_speed_block(_eval_speed())  # results from before the bfloat16 side
