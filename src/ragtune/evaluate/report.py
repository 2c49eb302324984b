"""The diagnose report: one self-contained HTML file (inline CSS and SVG plots, no external assets) that opens
offline and prints cleanly.

Sections, top to bottom: the verdict with evidence and next steps (plus a training-data rule of thumb when the
verdict involves fine-tuning), score per condition with 95% CIs, the failure taxonomy, retrieval against the gold
context, failed items side by side, every metric of every run, and a footer naming the runs it was built from.

:func:`render_report` is pure (diagnosis + runs + items in, HTML out); :func:`write_report` puts it on disk.
Everything that came from a model or a data file is passed through ``html.escape``: model outputs are untrusted.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Mapping, Sequence

from ragtune.errors import InputError
from ragtune.evaluate import plots
from ragtune.evaluate.answer_metrics import parse_json
from ragtune.evaluate.bootstrap import Estimate
from ragtune.evaluate.datasets import BehaviourItem, EvalItem, QAItem
from ragtune.evaluate.diagnose import PASS, Diagnosis, ItemScores, conditions_set_aside, failure_class
from ragtune.evaluate.harness import CONDITIONS, EvalRun, item_scores
from ragtune.files import write_atomic

MAX_EXAMPLES = 8
MAX_TEXT = 600  # characters of a prompt or prediction shown in the examples table; the runs hold the full text

HEADLINES = {
    "prompt": "The model already does this with a plain or few-shot prompt: no retrieval or training needed.",
    "rag": "A knowledge problem: the model does better when the right text is in the prompt. Retrieve it (RAG).",
    "finetune": "A behaviour problem: with all the information and examples in the prompt the model still "
                "produces the wrong output. Fine-tune it.",
    "both": "Both: facts are missing (retrieve them) and the output is wrong even with the facts (fine-tune).",
}
FAILURE_MEANING = {
    "knowledge": "fails closed-book, passes with the gold context in the prompt",
    "retrieval": "passes with the gold context, fails with retrieval",
    "comprehension": "fails even with the gold context and examples: the model misreads the passage",
    "behaviour": "a behaviour item that fails with all information and examples",
    "prompt_fixable": "examples in the prompt fix it",
}


# ---- what the report shows, as plain values -------------------------------------------------------------------


def pick_examples(scored: Sequence[ItemScores], limit: int = MAX_EXAMPLES) -> list[tuple[ItemScores, str]]:
    """Up to ``limit`` failed items, taken round-robin over failure classes (in the taxonomy's order) so one
    dominant class does not crowd the others out; within a class, items keep the eval set's order."""
    by_class: dict[str, list[ItemScores]] = {}
    set_aside = conditions_set_aside(scored)  # the same classes as the diagnosis's failure table
    for s in scored:
        name = failure_class(s, set_aside.get(s.kind, frozenset()))
        if name is not None:
            by_class.setdefault(name, []).append(s)
    queues = [(name, by_class[name]) for name in FAILURE_MEANING if name in by_class]
    picked: list[tuple[ItemScores, str]] = []
    depth = 0
    while len(picked) < limit and any(depth < len(q) for _, q in queues):
        for name, queue in queues:
            if depth < len(queue) and len(picked) < limit:
                picked.append((queue[depth], name))
        depth += 1
    return picked


@dataclass(frozen=True)
class RetrievalComparison:
    """Oracle against retrieval on the same questions, plus a retrieval-recall proxy from citations."""

    oracle: Estimate
    retrieval: Estimate
    paired: int
    both_pass: int
    oracle_only: int  # passes with the gold context, fails with retrieval: what retrieval costs
    retrieval_only: int
    neither: int
    cited_gold: int | None  # answers whose cited documents include a gold document (None: no gold ids)
    gold_labelled: int


def compare_retrieval(diagnosis: Diagnosis, runs: Mapping[str, EvalRun], items: Sequence[EvalItem],
                      scored: Sequence[ItemScores]) -> RetrievalComparison | None:
    oracle, retrieval = diagnosis.conditions.get("oracle"), diagnosis.conditions.get("retrieval")
    if oracle is None or retrieval is None or "retrieval" not in runs:
        return None
    pairs = [(s.scores["oracle"] >= PASS, s.scores["retrieval"] >= PASS)
             for s in scored if {"oracle", "retrieval"} <= set(s.scores)]
    gold = {i.item_id: set(i.gold_doc_ids) for i in items
            if isinstance(i, QAItem) and i.answerable and i.gold_doc_ids}
    results = [r for r in runs["retrieval"].items if r.item_id in gold and r.error is None]
    cited = sum(1 for r in results if gold[r.item_id] & set(r.cited_doc_ids)) if results else None
    return RetrievalComparison(
        oracle, retrieval, len(pairs),
        both_pass=sum(1 for o, r in pairs if o and r), oracle_only=sum(1 for o, r in pairs if o and not r),
        retrieval_only=sum(1 for o, r in pairs if r and not o), neither=sum(1 for o, r in pairs if not (o or r)),
        cited_gold=cited, gold_labelled=len(results))


def training_data_note(diagnosis: Diagnosis, items: Sequence[EvalItem],
                       scored: Sequence[ItemScores]) -> list[str] | None:
    """How many training examples fine-tuning would likely need: a rule of thumb with its reasoning, scaled to
    what failed here. Guidance, not a measurement — only a run with the adapter measures the effect."""
    if diagnosis.verdict not in ("finetune", "both"):
        return None
    behaviour = [i for i in items if isinstance(i, BehaviourItem)]
    behaviour_ids = {i.item_id for i in behaviour}
    total = sum(1 for s in scored if s.item_id in behaviour_ids)
    failing = diagnosis.failures.get("behaviour", 0)
    fixable = diagnosis.failures.get("prompt_fixable", 0)
    structured = bool(behaviour) and all(isinstance(parse_json(i.output), dict) for i in behaviour)
    share = f" ({failing / total:.0%})" if total else ""
    lines = [f"{failing} of {total} behaviour items{share} fail even with every fact and solved examples in the "
             "prompt" + (f" ({fixable} more are fixed by the examples alone)" if fixable else "")
             + ". That is the share of inputs an adapter has to fix; the training set should cover cases like "
             "them."]
    if structured:
        lines.append("These outputs follow a fixed JSON shape — a narrow format task. Rule of thumb: a few "
                     "hundred (about 200–500) clean, varied input→output examples are usually enough for a LoRA "
                     "adapter to learn a format, because the facts are already in the input; the model only has to "
                     "learn how to write them down.")
    else:
        lines.append("Rule of thumb: for a narrow, fixed output format, a few hundred (about 200–500) clean "
                     "input→output examples are usually enough; for tone, style or broader behaviour plan on "
                     "about 1,000 or more, because there are many more ways to be wrong and the examples have to "
                     "cover them.")
    lines.append("This is guidance from common practice, not a measurement: start small, hold out eval items, and "
                 "re-run diagnose with the adapter to see whether more data still helps. Clean, consistent "
                 "examples matter more than their number.")
    return lines


# ---- HTML ------------------------------------------------------------------------------------------------------

STYLE = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b; margin: 0;
       background: #fff; }
main { max-width: 64rem; margin: 0 auto; padding: 1.5rem 1.25rem 3rem; }
h1 { font-size: 1.7rem; margin: .2rem 0 .4rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .6rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
h3 { font-size: 1rem; margin: 1rem 0 .4rem; }
.kicker { color: #666; text-transform: uppercase; letter-spacing: .06em; font-size: .8rem; margin: 0; }
.verdict { background: #e8f1fb; color: #0b4a8b; padding: .05rem .5rem; border-radius: .3rem; }
.flag { font-size: .95rem; font-weight: normal; color: #8a5a00; background: #fff4d6; padding: .1rem .45rem;
        border-radius: .3rem; white-space: nowrap; }
.lede { font-size: 1.05rem; margin: .2rem 0 1rem; }
.note { border-left: 4px solid #dd8452; background: #fdf6f0; padding: .4rem 1rem; margin: 1rem 0; }
.muted, figcaption, footer { color: #555; font-size: .9rem; }
figure { margin: .5rem 0 1rem; }
svg { max-width: 100%; height: auto; display: block; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: .9rem; }
th, td { border: 1px solid #ddd; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f5f5f5; }
table.compact { width: auto; min-width: 28rem; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; }
.pass { color: #1f6f2b; font-weight: 600; }
.fail { color: #a32121; font-weight: 600; }
.example { margin: 1rem 0 1.5rem; break-inside: avoid; }
.example table { table-layout: fixed; }
footer { margin-top: 2.5rem; border-top: 1px solid #ddd; padding-top: .6rem; }
footer dl { display: grid; grid-template-columns: max-content 1fr; gap: .1rem 1rem; margin: 0; }
footer dt { font-weight: 600; }
footer dd { margin: 0; overflow-wrap: anywhere; }
@media print { main { max-width: none; padding: 0; } h2 { break-after: avoid; } figure { break-inside: avoid; } }
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _clip(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[:limit].rstrip() + " …"


def _ci(e: Estimate) -> str:
    return f"[{e.ci95[0]:.2f}, {e.ci95[1]:.2f}]"


def _score(value: float | None) -> str:
    if value is None:
        return '<span class="muted">not scored</span>'
    return f'<span class="{"pass" if value >= PASS else "fail"}">{value:.2f}</span>'


def _headline(diagnosis: Diagnosis) -> str:
    flag = ""
    if diagnosis.inconclusive:
        more = f" — about {diagnosis.items_needed} items would settle it" if diagnosis.items_needed else ""
        flag = f' <span class="flag">inconclusive{_e(more)}</span>'
    return (f'<p class="kicker">ragtune diagnose</p>\n'
            f'<h1 id="verdict">Verdict: <span class="verdict">{_e(diagnosis.verdict)}</span>{flag}</h1>\n'
            f'<p class="lede">{_e(HEADLINES.get(diagnosis.verdict, ""))}</p>')


def _next_steps(diagnosis: Diagnosis, note: list[str] | None) -> str:
    evidence = "".join(f"<li>{_e(line)}</li>" for line in diagnosis.evidence)
    parts = ["<h2>Evidence</h2>", f"<ul>{evidence}</ul>",
             "<h2>Recommended next steps</h2>",
             "<ol>" + "".join(f"<li>{_e(rec)}</li>" for rec in diagnosis.recommendations) + "</ol>"]
    if note:
        parts.append('<div class="note" id="training-data"><h3>How much training data would fine-tuning need? '
                     "(rule of thumb)</h3>" + "".join(f"<p>{_e(line)}</p>" for line in note) + "</div>")
    return "\n".join(parts)


def _conditions_section(diagnosis: Diagnosis, target: float) -> str:
    return ("<h2>Score per condition</h2>\n"
            f'<figure id="plot-conditions">{plots.condition_scores(diagnosis.conditions, target)}\n'
            "<figcaption>Mean primary score per condition (answer contained for QA items, exact output or "
            "per-field accuracy for behaviour items) with 95% bootstrap confidence intervals; the dashed line is "
            f"the target {target:.2f}.</figcaption></figure>")


def _failures_section(diagnosis: Diagnosis) -> str:
    total = sum(diagnosis.failures.values())
    meaning = "".join(f"<li><b>{_e(name.replace('_', ' '))}</b>: {_e(text)}</li>"
                      for name, text in FAILURE_MEANING.items())
    summary = (f"{total} failing items, each counted once in the first class that explains it."
               if total else "No item fails closed-book: there is nothing to classify.")
    return ("<h2>Failure taxonomy</h2>\n"
            f'<figure id="plot-failures">{plots.failure_taxonomy(diagnosis.failures)}\n'
            f"<figcaption>{_e(summary)}<ul>{meaning}</ul></figcaption></figure>")


def _retrieval_section(comparison: RetrievalComparison | None, diagnosis: Diagnosis) -> str:
    head = "<h2>Retrieval vs gold context</h2>\n"
    if comparison is None:
        if "oracle" in diagnosis.conditions:
            why = ("Retrieval did not run: no corpus was given and the home's index is empty. Pass --corpus to "
                   "compare the live retrieval pipeline against the gold context.")
        else:
            why = ("Retrieval did not run: it applies to QA items with questions (behaviour items carry all their "
                   "information in the input), and neither it nor the gold-context condition ran on this set.")
        return head + f"<p>{_e(why)}</p>"
    c = comparison
    rows = "".join(f'<tr><td>{name}</td><td class="num">{e.value:.2f}</td><td class="num">{_ci(e)}</td>'
                   f'<td class="num">{e.n}</td></tr>'
                   for name, e in (("oracle (gold context in the prompt)", c.oracle),
                                   ("retrieval (the full ask pipeline)", c.retrieval)))
    table = ('<table class="compact"><thead><tr><th>condition</th><th>score</th><th>95% CI</th><th>n</th></tr>'
             f"</thead><tbody>{rows}</tbody></table>")
    paired = ('<table class="compact"><thead><tr><th>on the same questions</th><th>items</th></tr></thead><tbody>'
              f'<tr><td>pass with both</td><td class="num">{c.both_pass}</td></tr>'
              f'<tr><td>pass with the gold context only (lost by retrieval)</td>'
              f'<td class="num">{c.oracle_only}</td></tr>'
              f'<tr><td>pass with retrieval only</td><td class="num">{c.retrieval_only}</td></tr>'
              f'<tr><td>fail with both</td><td class="num">{c.neither}</td></tr>'
              f"</tbody></table>")
    if c.cited_gold is None:
        recall = ("No question has gold_doc_ids, so the share of answers citing a gold document (a retrieval "
                  "recall proxy) cannot be computed.")
    else:
        recall = (f"{c.cited_gold} of {c.gold_labelled} answerable questions with gold documents "
                  f"({c.cited_gold / c.gold_labelled:.0%}) got an answer citing at least one gold document. This "
                  "is a recall proxy: a gold passage that was retrieved but not cited, or an abstention, counts "
                  "as a miss, so true retrieval recall is at least this high (ragtune eval retrieval measures it "
                  "directly).")
    return head + table + f"<p>Paired over {c.paired} questions:</p>" + paired + f"<p>{_e(recall)}</p>"


def _expected(item: EvalItem) -> str:
    if isinstance(item, BehaviourItem):
        return item.output
    if not item.answerable:
        return "(unanswerable: the model should abstain)"
    return " | ".join(item.answers)


def _examples_section(picked: list[tuple[ItemScores, str]], runs: Mapping[str, EvalRun],
                      items_by_id: Mapping[str, EvalItem]) -> str:
    head = "<h2>Failed items side by side</h2>\n"
    if not picked:
        return head + "<p>No item failed: there are no examples to show.</p>"
    results = {c: {r.item_id: r for r in run.items} for c, run in runs.items()}
    blocks = []
    for scores, failure in picked:
        item = items_by_id[scores.item_id]
        prompt = item.input if isinstance(item, BehaviourItem) else item.question
        label = "input" if isinstance(item, BehaviourItem) else "question"
        cells_head, cells = [], []
        for condition in results:
            result = results[condition].get(scores.item_id)
            if result is None:
                continue
            cells_head.append(f"<th>{_e(condition)} · {_score(scores.scores.get(condition))}</th>")
            text = (f'<span class="fail">error: {_e(result.error)}</span>' if result.error
                    else _e(_clip(result.prediction)) or '<span class="muted">(empty)</span>')
            cells.append(f'<td class="text">{text}</td>')
        blocks.append(
            f'<div class="example"><h3>{_e(scores.item_id)} — {_e(failure.replace("_", " "))}</h3>'
            f'<p><b>{label}:</b> <span class="text">{_e(_clip(prompt))}</span><br>'
            f'<b>expected:</b> <span class="text">{_e(_clip(_expected(item)))}</span></p>'
            f"<table><thead><tr>{''.join(cells_head)}</tr></thead><tbody><tr>{''.join(cells)}</tr></tbody></table>"
            "</div>")
    intro = (f"<p>{len(picked)} failed items, taken in turn from each failure class; predictions are shown as the "
             f"model wrote them (cut at {MAX_TEXT} characters), with each condition's primary score.</p>")
    return head + intro + "\n".join(blocks)


def _metrics_section(runs: Mapping[str, EvalRun]) -> str:
    rows = []
    for condition, run in runs.items():
        metrics = list(run.metrics.items())
        errors = sum(1 for i in run.items if i.error)
        for k, (name, m) in enumerate(metrics):
            first = (f'<td rowspan="{len(metrics)}">{_e(condition)}<br><span class="muted">{len(run.items)} items'
                     f'{f", {errors} errors" if errors else ""}</span></td>') if k == 0 else ""
            rows.append(f'<tr>{first}<td>{_e(name)}</td><td class="num">{m.value:.3f}</td>'
                        f'<td class="num">[{m.ci95[0]:.3f}, {m.ci95[1]:.3f}]</td><td class="num">{m.n}</td></tr>')
    return ("<h2>All metrics per condition</h2>\n"
            "<table><thead><tr><th>condition</th><th>metric</th><th>value</th><th>95% CI</th><th>n</th></tr>"
            f"</thead><tbody>{''.join(rows)}</tbody></table>")


def _footer(runs: Mapping[str, EvalRun], qa_path: str | Path, target: float, created: datetime) -> str:
    try:
        ragtune_version = version("ragtune")
    except PackageNotFoundError:  # running from a source tree that was never installed
        ragtune_version = "unknown"
    run_ids = ", ".join(f"{c}: {r.run_id}" for c, r in runs.items())
    fields = [("runs", run_ids), ("eval set", str(qa_path)), ("target", f"{target:.2f}"),
              ("created", created.isoformat(timespec="seconds")), ("ragtune", ragtune_version)]
    return "<footer><dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in fields) + "</dl></footer>"


def render_report(diagnosis: Diagnosis, runs: Mapping[str, EvalRun], items: Sequence[EvalItem], *,
                  qa_path: str | Path, target: float, created: datetime | None = None, cost: str | None = None) -> str:
    """The whole report as one HTML document (inline CSS and SVG; nothing is fetched when it opens). ``cost`` is
    the cost section, already rendered (``economics.html.cost_section``: the economics layer sits above this one),
    shown after the scores."""
    # One reading order for every plot and table: the diagnosis's, then any other run in the harness's order.
    order = [*diagnosis.conditions, *CONDITIONS]
    ordered = {c: runs[c] for c in sorted(runs, key=lambda c: order.index(c) if c in order else len(order))}
    scored = item_scores(dict(ordered), items)
    items_by_id = {i.item_id: i for i in items}
    created = created or datetime.now(timezone.utc)
    retrieval = compare_retrieval(diagnosis, ordered, items, scored)
    body = "\n".join([
        f"<header>{_headline(diagnosis)}</header>",
        f'<section id="summary">{_next_steps(diagnosis, training_data_note(diagnosis, items, scored))}</section>',
        f'<section id="conditions">{_conditions_section(diagnosis, target)}</section>',
        f'<section id="cost">{cost}</section>' if cost is not None else "",
        f'<section id="failures">{_failures_section(diagnosis)}</section>',
        f'<section id="retrieval">{_retrieval_section(retrieval, diagnosis)}</section>',
        f'<section id="examples">{_examples_section(pick_examples(scored), ordered, items_by_id)}</section>',
        f'<section id="metrics">{_metrics_section(ordered)}</section>',
        _footer(ordered, qa_path, target, created),
    ])
    return ("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>ragtune diagnose — {_e(diagnosis.verdict)}</title>\n<style>{STYLE}</style>\n</head>\n"
            f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n")


def write_report(path: str | Path, document: str) -> Path:
    """Write the report atomically, so a browser refreshing the page never sees half a file and an interrupted
    write leaves the old report intact."""
    try:
        return write_atomic(path, document)
    except OSError as exc:  # a read-only folder, a full disk, a folder named like the file: the user's to fix
        raise InputError(f"cannot write the report to {path}: {exc.strerror or exc}") from exc
