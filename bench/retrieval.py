"""Retrieval quality of ragtune's bm25 / dense / hybrid search on SQuAD dev, next to a plain peer baseline.

What it measures: ``Workspace.evaluation.retrieval`` (``ragtune eval retrieval``) over squad_dev_corpus.jsonl (421 passages)
and squad_dev_qa.jsonl (2,789 disfluent questions, one gold passage each): recall@1/5/10, MRR, nDCG@10
(document level, chunk hits collapsed to their best rank) and the p50 latency of one ``documents.search`` call.

Why a peer in the same run: absolute numbers mean little without a reference. The peer is what one would write
in an afternoon — ``bm25s`` (its own tokenizer, English stop words, PyStemmer) over the raw passages, exact
MiniLM cosine (numpy over ``load_embedder().embed(passages)``) and plain RRF (k=60) of their top-100 lists —
scored with the same metric functions (``ragtune.evaluate.metrics``). ragtune should match or beat it in every
mode. The peer's latency column is timed the same way (one query at a time, query embedding included).

Acceptance checks (on ragtune's hybrid mode): nDCG@10 >= 0.94; nDCG@10 >= best single mode - 0.005;
recall@5 >= 0.95.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import (
    SQUAD_CORPUS,
    SQUAD_QA,
    Bm25sPeer,
    add_quick_flag,
    apply_sizes,
    check_mark,
    load_embedder_warm,
    log,
    machine_info,
    machine_line,
    markdown_table,
    pct,
    read_jsonl,
    rrf,
    top_rows,
    write_result,
)

MODES = ("bm25", "dense", "hybrid")
METRICS = ("recall@1", "recall@5", "recall@10", "mrr", "ndcg@10", "p50_ms")
DEPTH = 100


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=SQUAD_CORPUS, help="corpus .jsonl (id, title, text)")
    parser.add_argument("--qa", type=Path, default=SQUAD_QA, help="QA .jsonl with gold_doc_ids")
    parser.add_argument(
        "--limit", type=int, default=None, help="score only the first N questions (default: all; --quick: 300)"
    )
    parser.add_argument("--rrf-k", type=int, default=60, help="RRF constant of the peer baseline")
    parser.add_argument("--name", default="retrieval", help="result file name under bench/results/")
    add_quick_flag(parser)
    return apply_sizes(parser.parse_args(), full={"limit": None}, quick={"limit": 300})


def limited_qa(qa: Path, limit: int | None, folder: Path) -> Path:
    if limit is None:
        return qa
    lines = [line for line in qa.read_text(encoding="utf-8").splitlines() if line.strip()][:limit]
    path = folder / f"qa-first-{limit}.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def score(ranked: list[str], gold: set[str]) -> dict[str, float]:
    from ragtune.evaluate.metrics import dedupe, ndcg_at_k, recall_at_k, reciprocal_rank

    ranked = dedupe(ranked)
    return {
        "recall@1": recall_at_k(ranked, gold, 1),
        "recall@5": recall_at_k(ranked, gold, 5),
        "recall@10": recall_at_k(ranked, gold, 10),
        "mrr": reciprocal_rank(ranked, gold),
        "ndcg@10": ndcg_at_k(ranked, gold, 10),
    }


def run_peer(corpus: Path, qa: Path, embedder, rrf_k: int) -> dict:
    """bm25s + exact MiniLM cosine + plain RRF over whole passages, one query at a time."""
    from ragtune.evaluate.datasets import read_qa

    records = read_jsonl(corpus)
    doc_ids = [r["id"] for r in records]
    passages = [(f"{r['title']}\n\n" if r.get("title") else "") + r["text"] for r in records]
    items = [item for item in read_qa(qa) if item.gold_doc_ids]

    t = time.perf_counter()
    bm25 = Bm25sPeer(passages)
    vectors = embedder.embed(passages, batch_size=64)
    build_s = time.perf_counter() - t

    per_mode: dict[str, list[dict]] = {m: [] for m in MODES}
    latency: dict[str, list[float]] = {m: [] for m in MODES}
    for item in items:
        gold = set(item.gold_doc_ids)
        t0 = time.perf_counter()
        lexical = top_rows(bm25.scores(item.question), DEPTH, positive_only=True)
        t1 = time.perf_counter()
        query = embedder.embed([item.question])[0]
        dense = top_rows(vectors @ query, DEPTH)
        t2 = time.perf_counter()
        fused = rrf([lexical, dense], rrf_k)
        t3 = time.perf_counter()
        latency["bm25"].append((t1 - t0) * 1000)
        latency["dense"].append((t2 - t1) * 1000)
        latency["hybrid"].append((t3 - t0) * 1000)
        for mode, rows in (("bm25", lexical), ("dense", dense), ("hybrid", fused)):
            per_mode[mode].append(score([doc_ids[r] for r in rows], gold))
    modes = {}
    for mode in MODES:
        scores = {m: float(np.mean([s[m] for s in per_mode[mode]])) for m in METRICS[:-1]}
        scores["p50_ms"] = pct(latency[mode], 50)
        modes[mode] = scores
    return {
        "evaluated": len(items),
        "documents": len(records),
        "build_seconds": build_s,
        "bm25s": bm25.params,
        "rrf_k": rrf_k,
        "modes": modes,
    }


def acceptance(modes: dict) -> list[dict]:
    hybrid = modes["hybrid"]
    best_single = max(modes["bm25"]["ndcg@10"], modes["dense"]["ndcg@10"])
    return [
        {"check": "hybrid nDCG@10 >= 0.94", "value": hybrid["ndcg@10"], "ok": hybrid["ndcg@10"] >= 0.94},
        {
            "check": f"hybrid nDCG@10 >= best single mode - 0.005 ({best_single - 0.005:.4f})",
            "value": hybrid["ndcg@10"],
            "ok": hybrid["ndcg@10"] >= best_single - 0.005,
        },
        {"check": "hybrid recall@5 >= 0.95", "value": hybrid["recall@5"], "ok": hybrid["recall@5"] >= 0.95},
    ]


def main() -> int:
    args = parse_args()
    from ragtune import Workspace

    machine = machine_info()
    log(f"machine: {machine_line(machine)}")
    embedder = load_embedder_warm()
    with tempfile.TemporaryDirectory(prefix="ragtune-bench-") as tmp:
        qa = limited_qa(args.qa, args.limit, Path(tmp))
        log("ragtune: ingesting and scoring bm25, dense, hybrid ...")
        t = time.perf_counter()
        ours = Workspace(Path(tmp) / "home", embedder=embedder).evaluation.retrieval(args.corpus, qa)
        ours_s = time.perf_counter() - t
        log(f"ragtune: done in {ours_s:.0f} s; peer baseline ...")
        t = time.perf_counter()
        peer = run_peer(args.corpus, qa, embedder, args.rrf_k)
        peer_s = time.perf_counter() - t
        log(f"peer: done in {peer_s:.0f} s")

    ours_modes = {m: s.to_json() for m, s in ours.modes.items()}
    rows = []
    for system, modes in (("ragtune", ours_modes), ("peer (bm25s / numpy cosine / RRF)", peer["modes"])):
        for mode in MODES:
            rows.append([system, mode, *(float(modes[mode][m]) for m in METRICS)])
    headers = ["system", "mode", "recall@1", "recall@5", "recall@10", "MRR", "nDCG@10", "p50 ms"]
    checks = acceptance(ours_modes)
    print(
        f"Retrieval on {args.corpus.name} ({ours.documents} documents, {ours.chunks} chunks), "
        f"{ours.evaluated} questions\n"
    )
    print(markdown_table(headers, rows, digits=4))
    print()
    print(
        markdown_table(
            ["acceptance check (ragtune)", "value", "result"],
            [[c["check"], round(c["value"], 4), check_mark(c["ok"])] for c in checks],
            digits=4,
        )
    )
    results = {
        "questions": ours.questions,
        "evaluated": ours.evaluated,
        "documents": ours.documents,
        "chunks": ours.chunks,
        "ragtune": {"ingest_seconds": ours.ingest_seconds, "wall_seconds": ours_s, "modes": ours_modes},
        "peer": {**peer, "wall_seconds": peer_s},
        "checks": checks,
        "all_checks_ok": all(c["ok"] for c in checks),
    }
    path = write_result(args.name, args, results, machine)
    log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
