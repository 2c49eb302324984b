"""Evaluation speed: ``diagnose`` decoding one item at a time vs in batches, on the same items, in the same run.

Two workspaces (separate homes, the same embedder and the same loaded model) run the diagnose conditions —
closed_book, few_shot, oracle, oracle+few_shot, retrieval — over a seeded sample of the SQuAD-derived dev set:
one with ``eval_batch_size=1`` (today's one-item-at-a-time decoding), one with the batch size under test.
The conditions alternate between the two (one-at-a-time, then batched, condition by condition), so load from
other processes on a shared machine falls on both sides alike. Then ``diagnose`` runs on each workspace: it
resumes from the finished runs (no model call) and gives the verdicts, which must be identical — and so must
every item's prediction, since batched decoding gives the tokens one-at-a-time decoding gives.

A third workspace decodes in batches with the model in bfloat16 (``GeneratorConfig.dtype``): its predictions are
not the float32 ones, so the run counts how many are identical and whether the verdict is; its speed counts
toward the goal only as the opt-in it is (``goal_met_bfloat16``), next to the float32 default (``goal_met``).

    python bench/eval_speed.py                 # 100 items × 5 conditions, batch size = Settings default
    python bench/eval_speed.py --quick         # 4 items
    python bench/eval_speed.py --threads 1     # torch threads (default: torch's own choice)
    python bench/eval_speed.py --no-bfloat16   # without the bfloat16 side
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
    parser.add_argument("--bfloat16", action=argparse.BooleanOptionalAction, default=True,
                        help="also decode in batches with the model in bfloat16 (default: yes)")
    parser.add_argument("--name", default="eval_speed")
    add_quick_flag(parser)
    return apply_sizes(parser.parse_args(), full={"items": 100}, quick={"items": 4})


def main() -> int:
    args = parse_args()
    import torch

    from ragtune import Settings, Workspace
    from ragtune.config import GeneratorConfig
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
        plan = [("one_at_a_time", 1, "float32"), ("batched", batch_size, "float32")]
        plan += [("batched_bfloat16", batch_size, "bfloat16")] if args.bfloat16 else []
        sides = {name: Workspace(settings=replace(Settings(home=Path(tmp) / name), eval_batch_size=size,
                                                  generator=replace(GeneratorConfig(), dtype=dtype)),
                                 embedder=embedder, generators=generators)
                 for name, size, dtype in plan}
        # index the corpus once and load the models before anything is timed; the other sides get a copy of the
        # first's corpus index (their sync then finds every document unchanged) instead of embedding it again
        first = sides["one_at_a_time"]
        first.evaluation.open_corpus(args.corpus)
        for name, workspace in sides.items():
            if workspace is not first:
                shutil.copytree(Path(first.settings.home) / "eval-index", Path(workspace.settings.home) / "eval-index")
                workspace.evaluation.open_corpus(args.corpus)
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
        same = _same_items(one, many)
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
        identical_verdict=_same_verdict(verdicts, "batched"),
        identical_items=sum(c["identical_items"] for c in results["conditions"].values()))
    results["goal_met"] = results["speedup"] >= GOAL and bool(results["identical_verdict"])
    if "batched_bfloat16" in sides:
        results["bfloat16"] = _bfloat16_side(conditions, seconds, runs, verdicts, total_one)
        results["goal_met_bfloat16"] = (results["bfloat16"]["speedup"] >= GOAL
                                        and bool(results["bfloat16"]["identical_verdict"]))
    results["cpu_bf16"] = _cpu_bf16()
    path = write_result(args.name, args, results, machine)
    print(eval_speed_block({"results": results, "args": vars(args)}))
    log(f"wrote {path}")
    return 0


def _same_items(one, other) -> list[bool]:
    return [(a.item_id, a.prediction, a.abstained, a.cited_doc_ids) == (b.item_id, b.prediction, b.abstained,
                                                                        b.cited_doc_ids)
            for a, b in zip(one.items, other.items, strict=True)]


def _same_verdict(verdicts: dict, side: str) -> bool | None:
    """Whether ``side`` gave one-at-a-time's verdict (None: not every diagnose condition ran, no verdict)."""
    if side not in verdicts:
        return None
    return all(verdicts[side][k] == verdicts["one_at_a_time"][k] for k in ("verdict", "inconclusive"))


def _bfloat16_side(conditions, seconds, runs, verdicts, total_one: float) -> dict:
    """The bfloat16 batched side against float32 one at a time: speed, and how many predictions are the float32
    ones (the precision changes answers; the verdict is what must hold)."""
    side = seconds["batched_bfloat16"]
    per = {c: {"batched_s": round(side[c], 2), "speedup": round(seconds["one_at_a_time"][c] / side[c], 3),
               "identical_items": sum(_same_items(runs["one_at_a_time"][c], runs["batched_bfloat16"][c]))}
           for c in conditions}
    total = sum(side.values())
    return {"conditions": per, "batched_s": round(total, 2), "speedup": round(total_one / total, 3),
            "identical_items": sum(p["identical_items"] for p in per.values()),
            "identical_verdict": _same_verdict(verdicts, "batched_bfloat16")}


def _cpu_bf16() -> bool:
    """Whether the CPU multiplies bfloat16 natively (AVX512-BF16 or AMX): without, bfloat16 is no faster."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


if __name__ == "__main__":
    raise SystemExit(main())
