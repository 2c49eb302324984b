"""Evaluation speed: ``diagnose`` decoding one item at a time vs in batches, on the same items, in the same run.

Two workspaces (separate homes, the same embedder and the same loaded model) run the diagnose conditions —
closed_book, few_shot, oracle, oracle+few_shot, retrieval — over a seeded sample of the SQuAD-derived dev set:
one with ``eval_batch_size=1`` (today's one-item-at-a-time decoding), one with the batch size under test.
The conditions alternate between the two (one-at-a-time, then batched, condition by condition), so load from
other processes on a shared machine falls on both sides alike. Then ``diagnose`` runs on each workspace: it
resumes from the finished runs (no model call) and gives the verdicts, which must be identical — and so must
every item's prediction, since batched decoding gives the tokens one-at-a-time decoding gives.

    python bench/eval_speed.py                 # 100 items × 5 conditions, batch size = Settings default
    python bench/eval_speed.py --quick         # 4 items
    python bench/eval_speed.py --threads 1     # torch threads (default: torch's own choice)
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from _common import (
    SQUAD_CORPUS,
    SQUAD_QA,
    add_quick_flag,
    apply_sizes,
    log,
    machine_info,
    machine_line,
    read_jsonl,
    write_result,
)
from render import eval_speed_block

CONDITIONS = ("closed_book", "few_shot", "oracle", "oracle+few_shot", "retrieval")
GOAL = 3.0  # issue #15: items/s at least 3x one-at-a-time


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=SQUAD_CORPUS)
    parser.add_argument("--qa", type=Path, default=SQUAD_QA)
    parser.add_argument("--items", type=int, default=None, help="eval items sampled (default 100; --quick: 4)")
    parser.add_argument("--conditions", default=",".join(CONDITIONS))
    parser.add_argument("--batch-size", type=int, default=None, help="default: Settings().eval_batch_size")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--name", default="eval_speed")
    add_quick_flag(parser)
    return apply_sizes(parser.parse_args(), full={"items": 100}, quick={"items": 4})


def main() -> int:
    args = parse_args()
    import torch

    from ragtune import Settings, Workspace
    from ragtune.models.embedder import load_embedder
    from ragtune.models.factory import model_generators

    if args.threads:
        torch.set_num_threads(args.threads)
    machine = machine_info()
    log(f"machine: {machine_line(machine)}; torch threads {torch.get_num_threads()}")
    batch_size = args.batch_size or Settings().eval_batch_size
    conditions = [c for c in args.conditions.split(",") if c]
    rows = read_jsonl(args.qa)
    sample = random.Random(args.seed).sample(rows, args.items)
    results: dict = {"items": args.items, "batch_size": batch_size, "conditions": {},
                     "torch_threads": torch.get_num_threads()}
    with tempfile.TemporaryDirectory(prefix="ragtune-evalspeed-") as tmp:
        qa = Path(tmp) / "qa.jsonl"
        qa.write_text("".join(json.dumps(r) + "\n" for r in sample))
        embedder, generators = load_embedder("default", None, "auto"), model_generators()
        sides = {name: Workspace(settings=replace(Settings(home=Path(tmp) / name), eval_batch_size=size),
                                 embedder=embedder, generators=generators)
                 for name, size in (("one_at_a_time", 1), ("batched", batch_size))}
        # index the corpus once and load the model before anything is timed; the second side gets a copy of the
        # first's corpus index (its sync then finds every document unchanged) instead of embedding it again
        first, second = sides["one_at_a_time"], sides["batched"]
        first.evaluation.open_corpus(args.corpus)
        shutil.copytree(Path(first.settings.home) / "eval-index", Path(second.settings.home) / "eval-index")
        second.evaluation.open_corpus(args.corpus)
        for workspace in sides.values():
            workspace.answers.ask("warm up", retrieval=False)
        seconds: dict[str, dict[str, float]] = {name: {} for name in sides}
        runs: dict[str, dict] = {name: {} for name in sides}
        for condition in conditions:
            for name, workspace in sides.items():
                log(f"{condition}: {name} ...")
                started = time.perf_counter()
                runs[name][condition] = workspace.evaluation.evaluate(qa, condition=condition, corpus=args.corpus)
                seconds[name][condition] = time.perf_counter() - started
                log(f"{condition}: {name} {seconds[name][condition]:.1f} s")
        verdicts = {}
        for name, workspace in sides.items() if set(conditions) == set(CONDITIONS) else ():
            started = time.perf_counter()
            diagnosis, diagnose_runs, _ = workspace.evaluation.diagnose(qa, corpus=args.corpus)
            resumed = time.perf_counter() - started
            assert set(diagnose_runs) == set(conditions), "diagnose ran other conditions than the timed ones"
            verdicts[name] = {"verdict": diagnosis.verdict, "inconclusive": diagnosis.inconclusive,
                              "conditions": {c: round(e.value, 4) for c, e in diagnosis.conditions.items()},
                              "diagnose_resume_seconds": round(resumed, 2)}
    for condition in conditions:
        one, many = runs["one_at_a_time"][condition], runs["batched"][condition]
        same = [(a.item_id, a.prediction, a.abstained, a.cited_doc_ids) == (b.item_id, b.prediction, b.abstained,
                                                                            b.cited_doc_ids)
                for a, b in zip(one.items, many.items, strict=True)]
        n = len(one.items)
        counted = [i.tokens for i in one.items if i.tokens]  # the same prompts and tokens on both sides
        results["conditions"][condition] = {
            "n": n, "one_at_a_time_s": round(seconds["one_at_a_time"][condition], 2),
            "batched_s": round(seconds["batched"][condition], 2),
            "one_at_a_time_items_per_s": round(n / seconds["one_at_a_time"][condition], 4),
            "batched_items_per_s": round(n / seconds["batched"][condition], 4),
            "speedup": round(seconds["one_at_a_time"][condition] / seconds["batched"][condition], 3),
            "identical_items": sum(same), "errors": [sum(1 for i in r.items if i.error) for r in (one, many)],
            # what bounds batching: each prompt is prefilled alone on both sides; only answers decode together
            "prompt_tokens_mean": round(sum(t["prompt"] for t in counted) / max(1, len(counted)), 1),
            "answer_tokens_mean": round(sum(t["completion"] for t in counted) / max(1, len(counted)), 1)}
    total_n = sum(c["n"] for c in results["conditions"].values())
    total_one = sum(seconds["one_at_a_time"].values())
    total_many = sum(seconds["batched"].values())
    results.update(
        total_items=total_n, one_at_a_time_s=round(total_one, 2), batched_s=round(total_many, 2),
        one_at_a_time_items_per_s=round(total_n / total_one, 4), batched_items_per_s=round(total_n / total_many, 4),
        speedup=round(total_one / total_many, 3), goal=GOAL, verdicts=verdicts,
        identical_verdict=None if not verdicts else (  # None: not every diagnose condition ran, no verdict
            verdicts["one_at_a_time"]["verdict"] == verdicts["batched"]["verdict"]
            and verdicts["one_at_a_time"]["inconclusive"] == verdicts["batched"]["inconclusive"]),
        identical_items=sum(c["identical_items"] for c in results["conditions"].values()))
    results["goal_met"] = results["speedup"] >= GOAL and bool(results["identical_verdict"])
    path = write_result(args.name, args, results, machine)
    print(eval_speed_block({"results": results, "args": vars(args)}))
    log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
