"""Grounded answers with the default local model (SmolLM2-135M-Instruct) on the SQuAD-derived dev set.

What it measures, on a seeded sample of answerable and unanswerable questions:
- answerable: exact match, token F1 and answer-contained for ``retrieval`` (``Workspace.answers.ask``) and ``closed_book``
  (``answers.ask(retrieval=False)``, the same model without sources), each with a 95% bootstrap CI, and the paired
  bootstrap difference; citation precision (the cited chunk is from the gold passage);
- unanswerable: how often ``ask`` abstains (and, for answerable ones, how often it wrongly abstains).

Abstention thresholds are calibrated here, not guessed: every item is generated once with the thresholds
disabled, recording the best hit's dense cosine and the answer's support; then (min_relevance, min_support) is
chosen on a calibration half as the pair that abstains on the most unanswerable questions while withholding at
most ``--max-lost`` (10%) of the correct answers (answerable items whose answer contains the gold answer), and
every number is reported on the other half. (Maximizing SQuAD 2.0-style F1 instead degenerates with a weak
model: abstaining on everything scores better than answering, which is no use to anyone asking.) Run it on your
own QA set (``--qa``, ``--corpus``) to calibrate for your data; ``--from-results`` re-analyses a saved run.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from _common import (
    SQUAD_CORPUS,
    SQUAD_QA,
    add_quick_flag,
    apply_sizes,
    log,
    machine_info,
    machine_line,
    markdown_table,
    read_jsonl,
    write_result,
)

RELEVANCE_GRID = [round(x, 2) for x in np.arange(-0.1, 0.61, 0.05)]
SUPPORT_GRID = [round(x, 2) for x in np.arange(0.0, 1.01, 0.1)]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=SQUAD_CORPUS)
    parser.add_argument("--qa", type=Path, default=SQUAD_QA)
    parser.add_argument("--answerable", type=int, default=None,
                        help="answerable questions sampled (default 120; --quick: 8)")
    parser.add_argument("--unanswerable", type=int, default=None,
                        help="unanswerable questions sampled (default 60; --quick: 4)")
    parser.add_argument("-k", type=int, default=None, help="sources in the prompt (default: AnswerConfig.k)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--max-lost", type=float, default=0.10,
                        help="largest share of correct answers the thresholds may withhold")
    parser.add_argument("--from-results", type=Path, default=None,
                        help="re-analyse the items of a saved run instead of generating again")
    parser.add_argument("--name", default="answers")
    add_quick_flag(parser)
    return apply_sizes(parser.parse_args(), full={"answerable": 120, "unanswerable": 60},
                       quick={"answerable": 8, "unanswerable": 4})


def decide(item: dict, min_relevance: float, min_support: float) -> bool:
    """Whether ``ask`` would abstain on this item under the given thresholds (mirrors answer_from_hits)."""
    if item["model_abstained"] or item["best_dense"] < min_relevance:
        return True
    return not item["has_citations"] or item["support"] < min_support


def squad2_f1(items: list[dict], min_relevance: float, min_support: float) -> float:
    scores = []
    for it in items:
        abstain = decide(it, min_relevance, min_support)
        scores.append(float(abstain) if not it["answerable"] else (0.0 if abstain else it["f1"]))
    return float(np.mean(scores)) if scores else 0.0


def calibrate(items: list[dict], max_lost: float) -> tuple[float, float, float]:
    """(min_relevance, min_support, abstain rate on unanswerable) — the most abstention on unanswerable items
    that loses at most ``max_lost`` of the correct answers; ties go to the least abstention on answerable ones."""
    correct = [it for it in items if it["answerable"] and it["contained"]]
    unanswerable = [it for it in items if not it["answerable"]]
    answerable = [it for it in items if it["answerable"]]
    best = None
    for r in RELEVANCE_GRID:
        for s in SUPPORT_GRID:
            lost = np.mean([decide(it, r, s) for it in correct]) if correct else 0.0
            if lost > max_lost:
                continue
            caught = np.mean([decide(it, r, s) for it in unanswerable]) if unanswerable else 0.0
            false = np.mean([decide(it, r, s) for it in answerable]) if answerable else 0.0
            key = (caught, -false, -r, -s)
            if best is None or key > best[0]:
                best = (key, r, s)
    if best is None:  # even the loosest thresholds lose too much (answers without any verifiable citation)
        r, s = RELEVANCE_GRID[0], SUPPORT_GRID[0]
        return r, s, float(np.mean([decide(it, r, s) for it in unanswerable])) if unanswerable else 0.0
    return best[1], best[2], best[0][0]


def main() -> int:
    args = parse_args()
    machine = machine_info()
    log(f"machine: {machine_line(machine)}")
    if args.from_results:
        import json

        saved = json.loads(args.from_results.read_text())["results"]
        items = saved["items"]
        answerable_n, unanswerable_n = saved["answerable"], saved["unanswerable"]
    else:
        items = generate_items(args)
        answerable_n, unanswerable_n = args.answerable, args.unanswerable
    return report(args, items, answerable_n, unanswerable_n, machine)


def generate_items(args: argparse.Namespace) -> list[dict]:
    from ragtune import Settings, Workspace
    from ragtune.config import AnswerConfig
    from ragtune.evaluate.answer_metrics import answer_contained, citation_precision, exact_match, token_f1
    from ragtune.generate.citations import strip_markers, verify_citations

    rows = read_jsonl(args.qa)
    rng = random.Random(args.seed)
    answerable = rng.sample([r for r in rows if r.get("answerable", True) and r.get("answers")],
                            args.answerable)
    unanswerable = rng.sample([r for r in rows if not r.get("answerable", True)], args.unanswerable)

    with tempfile.TemporaryDirectory(prefix="ragtune-answers-") as home:
        defaults = AnswerConfig()
        open_thresholds = replace(defaults, min_relevance=-1.0, min_support=-1.0, k=args.k or defaults.k)
        index = Workspace(settings=replace(Settings(home=Path(home)), answer=open_thresholds))
        log("ingesting the corpus ...")
        index.documents.ingest([args.corpus])
        index.answers.ask("warm up the model", retrieval=False)
        items: list[dict] = []
        started = time.perf_counter()
        todo = [(r, True) for r in answerable] + [(r, False) for r in unanswerable]
        for i, (row, is_answerable) in enumerate(todo, start=1):
            answer = index.answers.ask(row["question"])
            hits = [h.chunk for h in answer.hits]
            check = verify_citations(answer.raw_answer, hits) if answer.raw_answer else None
            text = strip_markers(answer.raw_answer)
            item = {
                "id": row["id"], "answerable": is_answerable, "raw_answer": answer.raw_answer,
                "model_abstained": answer.abstain_reason == "model_abstained",
                "best_dense": max((h.scores.get("dense", -1.0) for h in answer.hits), default=-1.0),
                "support": check.answer_support if check else 0.0,
                "has_citations": bool(check and check.citations),
                "cited_docs": [c.doc_id for c in (check.citations if check else [])],
                "gold_retrieved": any(h.doc_id in row["gold_doc_ids"] for h in hits),
                "seconds": answer.latency_ms["total"] / 1000,
            }
            if is_answerable:
                item.update(f1=token_f1(text, row["answers"]), em=exact_match(text, row["answers"]),
                            contained=answer_contained(text, row["answers"]),
                            citation_precision=citation_precision(item["cited_docs"], row["gold_doc_ids"]))
                closed = index.answers.ask(row["question"], retrieval=False)
                item.update(cb_answer=closed.answer, cb_f1=token_f1(closed.answer, row["answers"]),
                            cb_em=exact_match(closed.answer, row["answers"]),
                            cb_contained=answer_contained(closed.answer, row["answers"]))
            items.append(item)
            if i % 25 == 0:
                log(f"{i}/{len(todo)} questions, {time.perf_counter() - started:.0f} s")
    return items


def report(args: argparse.Namespace, items: list[dict], answerable_n: int, unanswerable_n: int, machine: dict) -> int:
    from ragtune.config import AnswerConfig
    from ragtune.evaluate.bootstrap import bootstrap_ci, paired_bootstrap_diff

    defaults = AnswerConfig()

    # Calibrate on one half (seeded split), report on the other.
    order = list(range(len(items)))
    random.Random(args.seed + 1).shuffle(order)
    calib = [items[i] for i in order[: len(order) // 2]]
    held = [items[i] for i in order[len(order) // 2:]]
    min_rel, min_sup, calib_score = calibrate(calib, args.max_lost)

    def summary(values: list[float]) -> list:
        if not values:
            return ["-", "-"]
        lo, hi = bootstrap_ci(values)
        return [float(np.mean(values)), f"[{lo:.3f}, {hi:.3f}]"]

    held_ans = [it for it in held if it["answerable"]]
    held_unans = [it for it in held if not it["answerable"]]
    answered = [it for it in held_ans if not decide(it, min_rel, min_sup)]
    rows_out = []
    for label, key in (("exact match", "em"), ("token F1", "f1"), ("answer contained", "contained")):
        rag = [it[key] for it in held_ans]
        cb = [it["cb_" + key] for it in held_ans]
        diff, lo, hi = paired_bootstrap_diff(rag, cb)
        rows_out.append([label, *summary(cb), *summary(rag), f"{diff:+.3f} [{lo:+.3f}, {hi:+.3f}]"])
    print(f"Answerable questions (held-out half: {len(held_ans)}; model answers before abstention)\n")
    print(markdown_table(["metric", "closed-book", "95% CI", "retrieval", "95% CI", "retrieval − closed-book "
                          "(paired 95% CI)"], rows_out))
    precisions = [it["citation_precision"] for it in held_ans if it["citation_precision"] is not None]
    abstain_unans = [float(decide(it, min_rel, min_sup)) for it in held_unans]
    abstain_ans = [float(decide(it, min_rel, min_sup)) for it in held_ans]
    f1_answered = [it["f1"] for it in answered]
    quantities = [
        ["citation precision (cited chunk is the gold passage)", *summary(precisions)],
        ["gold passage among the retrieved sources", *summary([float(it["gold_retrieved"]) for it in held_ans])],
        ["abstain rate, unanswerable questions", *summary(abstain_unans)],
        ["abstain rate, answerable questions (false abstentions)", *summary(abstain_ans)],
        ["token F1 of the answers given (answerable)", *summary(f1_answered)],
        ["SQuAD 2.0-style F1 (all held-out items)", squad2_f1(held, min_rel, min_sup), "-"],
    ]
    print()
    print(markdown_table(["quantity (held-out half, calibrated thresholds)", "value", "95% CI"], quantities))
    lost = [float(decide(it, min_rel, min_sup)) for it in held_ans if it["contained"]]
    print(f"\nCalibrated on {len(calib)} items (at most {args.max_lost:.0%} of correct answers withheld): "
          f"min_relevance={min_rel}, min_support={min_sup} (calibration half: {calib_score:.0%} of unanswerable "
          f"caught); held out: {np.mean(lost) if lost else 0:.0%} of correct answers withheld. Defaults in AnswerConfig: "
          f"min_relevance={defaults.min_relevance}, min_support={defaults.min_support}.")
    seconds = [it["seconds"] for it in items]
    print(f"Median seconds per grounded answer: {np.median(seconds):.2f}")

    results = {
        "answerable": answerable_n, "unanswerable": unanswerable_n, "held_out": len(held),
        "held_out_answerable": len(held_ans), "held_out_unanswerable": len(held_unans),
        "correct_withheld_held_out": float(np.mean(lost)) if lost else 0.0, "max_lost": args.max_lost,
        "defaults": {"min_relevance": defaults.min_relevance, "min_support": defaults.min_support},
        "quantities": quantities,
        "calibrated": {"min_relevance": min_rel, "min_support": min_sup, "calibration_score": calib_score},
        "table": rows_out, "citation_precision": float(np.mean(precisions)) if precisions else None,
        "abstain_rate_unanswerable": float(np.mean(abstain_unans)) if abstain_unans else None,
        "abstain_rate_answerable": float(np.mean(abstain_ans)) if abstain_ans else None,
        "squad2_f1_held_out": squad2_f1(held, min_rel, min_sup),
        "median_seconds_per_answer": float(np.median(seconds)),
        "items": items,
    }
    log(f"wrote {write_result(args.name, args, results, machine)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
