"""Hybrid query latency of ``documents.search(q, mode="hybrid", k=10)`` against the floor, measured side by side.

What it measures: wall time of one hybrid search on the SQuAD dev corpus (421 passages → ~520 chunks), one
query at a time, and the same for a FLOOR — the least work any hybrid search must do on this data: embed the
query with the same embedder, exact cosine over all chunk vectors (one numpy mat-vec), BM25 scores of all
chunks from an in-memory ``bm25s`` index (built beforehand, not timed; query tokenization is timed), top-100
of each and a plain RRF merge to the top 10 (with their texts).

Why: query embedding dominates on CPU, so absolute milliseconds say little; the ratio p50(ragtune)/p50(floor)
says how much ragtune adds on top of unavoidable work (goal <= 1.2). Both run in one process on the same
queries, interleaved (the order alternates per query) after a warm-up, so machine noise hits both alike. The
per-stage breakdown comes from ``SearchResult.timings_ms`` (median of each key).
"""

from __future__ import annotations

import argparse
import random
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

DEPTH = 100
K = 10
GOAL = 1.2


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--corpus", type=Path, default=SQUAD_CORPUS, help="corpus to index (.jsonl or folder)"
    )
    parser.add_argument("--qa", type=Path, default=SQUAD_QA, help="questions to search for")
    parser.add_argument("--queries", type=int, default=None,
                        help="measured queries, sampled from --qa (default 500; --quick: 100)")
    parser.add_argument("--warmup", type=int, default=None,
                        help="untimed queries run through both first (default 30; --quick: 10)")
    parser.add_argument("--seed", type=int, default=7, help="query sample seed")
    parser.add_argument("--name", default="latency", help="result file name under bench/results/")
    add_quick_flag(parser)
    return apply_sizes(parser.parse_args(), full={"queries": 500, "warmup": 30}, quick={"queries": 100, "warmup": 10})


class Floor:
    """Embed + exact cosine + in-memory BM25 + RRF top-k over the chunks ragtune stored."""

    def __init__(self, embedder, chunk_ids: list[str], texts: list[str], vectors: np.ndarray) -> None:
        self.embedder = embedder
        self.chunk_ids = chunk_ids
        self.texts = texts
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.bm25 = Bm25sPeer(texts)

    def search(self, query: str, k: int = K) -> tuple[list[tuple[str, str]], dict[str, float]]:
        t0 = time.perf_counter()
        vector = self.embedder.embed([query])[0]
        t1 = time.perf_counter()
        dense = top_rows(self.vectors @ vector, DEPTH)
        t2 = time.perf_counter()
        lexical = top_rows(self.bm25.scores(query), DEPTH, positive_only=True)
        t3 = time.perf_counter()
        hits = [(self.chunk_ids[r], self.texts[r]) for r in rrf([dense, lexical])[:k]]
        t4 = time.perf_counter()
        return hits, {
            "embed_ms": (t1 - t0) * 1000,
            "dense_ms": (t2 - t1) * 1000,
            "bm25_ms": (t3 - t2) * 1000,
            "merge_ms": (t4 - t3) * 1000,
        }


def measure_native(index, embedder, queries: list[str]) -> dict[str, list[float]]:
    """The design decision's evidence: LanceDB's own BM25 full-text index and vector search (the path ragtune
    uses above ``exact_max_chunks``) on the same table, per query, excluding the query embedding."""
    from ragtune.types import Filters

    index.documents.store.ensure_indexes(exact_max_chunks=0)  # build the FTS and vector indexes now
    times: dict[str, list[float]] = {"lancedb FTS (BM25) top-100": [], "lancedb vector search top-100": []}
    for q in queries:
        vector = embedder.embed([q])[0]
        t = time.perf_counter()
        index.documents.store.search_lexical(q, DEPTH, Filters())
        times["lancedb FTS (BM25) top-100"].append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        index.documents.store.search_dense(vector, DEPTH, Filters())
        times["lancedb vector search top-100"].append((time.perf_counter() - t) * 1000)
    return times


def main() -> int:
    args = parse_args()
    from ragtune import Workspace

    machine = machine_info()
    log(f"machine: {machine_line(machine)}")
    embedder = load_embedder_warm()
    questions = [r["question"] for r in read_jsonl(args.qa)]
    queries = random.Random(args.seed).sample(questions, min(args.queries, len(questions)))
    warmup = questions[: args.warmup]

    with tempfile.TemporaryDirectory(prefix="ragtune-bench-") as home:
        index = Workspace(home, embedder=embedder)
        log(f"ingesting {args.corpus} ...")
        report = index.documents.ingest([args.corpus])
        columns = index.documents.store.chunk_columns()
        vectors = (
            columns["vector"].combine_chunks().flatten().to_numpy().reshape(columns.num_rows, embedder.dim)
        )
        floor = Floor(embedder, columns["chunk_id"].to_pylist(), columns["text"].to_pylist(), vectors)
        log(f"{report.chunks} chunks; warm-up ({len(warmup)} queries each) ...")
        for q in warmup:
            index.documents.search(q, mode="hybrid", k=K)
            floor.search(q)

        ours_ms, floor_ms, overlap = [], [], []
        ours_rest, floor_rest = [], []  # everything but the query embedding
        ours_stages: dict[str, list[float]] = {}
        floor_stages: dict[str, list[float]] = {}
        for i, q in enumerate(queries):
            for side in (0, 1) if i % 2 == 0 else (1, 0):
                t = time.perf_counter()
                if side == 0:
                    result = index.documents.search(q, mode="hybrid", k=K)
                    ours_ms.append((time.perf_counter() - t) * 1000)
                else:
                    floor_hits, stages = floor.search(q)
                    floor_ms.append((time.perf_counter() - t) * 1000)
            for key, value in result.timings_ms.items():
                ours_stages.setdefault(key, []).append(value)
            for key, value in stages.items():
                floor_stages.setdefault(key, []).append(value)
            overlap.append(len({h.chunk.chunk_id for h in result.hits} & {cid for cid, _ in floor_hits}) / K)
            ours_rest.append(ours_ms[-1] - result.timings_ms["embed_ms"])
            floor_rest.append(floor_ms[-1] - stages["embed_ms"])
        chunks = columns.num_rows
        native = measure_native(index, embedder, queries[:200])

    p50_ours, p50_floor = pct(ours_ms, 50), pct(floor_ms, 50)
    ratio = p50_ours / p50_floor
    print(
        f"Hybrid search latency, k={K}, {len(queries)} queries, {chunks} chunks "
        f"(interleaved, after {len(warmup)} warm-up queries)\n"
    )
    summary = [
        ("ragtune Index.search (hybrid)", ours_ms),
        ("floor (embed + numpy cosine + bm25s + RRF)", floor_ms),
        ("ragtune without the query embedding", ours_rest),
        ("floor without the query embedding", floor_rest),
    ]
    print(
        markdown_table(
            ["system", "p50 ms", "p95 ms", "mean ms"],
            [[name, pct(v, 50), pct(v, 95), float(np.mean(v))] for name, v in summary],
            digits=2,
        )
    )
    print()
    print(
        markdown_table(
            ["p50 ratio ragtune / floor", "goal", "result"],
            [[f"{ratio:.3f}x", f"<= {GOAL}x", check_mark(ratio <= GOAL)]],
        )
    )
    print()
    stage_rows = [[key, pct(values, 50), pct(values, 95)] for key, values in ours_stages.items()]
    stage_rows.append(["(wall time of the call)", p50_ours, pct(ours_ms, 95)])
    print(markdown_table(["ragtune stage (timings_ms)", "median ms", "p95 ms"], stage_rows, digits=3))
    print()
    print(
        markdown_table(
            ["floor stage", "median ms", "p95 ms"],
            [[k, pct(v, 50), pct(v, 95)] for k, v in floor_stages.items()],
            digits=3,
        )
    )
    print()
    print(
        markdown_table(
            ["LanceDB native search (same table, no embedding)", "median ms", "p95 ms"],
            [[k, pct(v, 50), pct(v, 95)] for k, v in native.items()],
            digits=3,
        )
    )
    print(
        f"\nMean top-10 overlap ragtune vs floor: {np.mean(overlap):.3f} (BM25 tokenizers and k1 differ, so "
        "rankings are close but not identical)."
    )

    results = {
        "queries": len(queries),
        "warmup": len(warmup),
        "chunks": chunks,
        "k": K,
        "ragtune_ms": {"p50": p50_ours, "p95": pct(ours_ms, 95), "mean": float(np.mean(ours_ms))},
        "floor_ms": {"p50": p50_floor, "p95": pct(floor_ms, 95), "mean": float(np.mean(floor_ms))},
        "ragtune_without_embed_ms": {"p50": pct(ours_rest, 50), "p95": pct(ours_rest, 95),
                                     "mean": float(np.mean(ours_rest))},
        "floor_without_embed_ms": {"p50": pct(floor_rest, 50), "p95": pct(floor_rest, 95),
                                   "mean": float(np.mean(floor_rest))},
        "ratio_p50": ratio,
        "goal": GOAL,
        "goal_met": ratio <= GOAL,
        "ragtune_stages_median_ms": {k: pct(v, 50) for k, v in ours_stages.items()},
        "ragtune_stages_p95_ms": {k: pct(v, 95) for k, v in ours_stages.items()},
        "floor_stages_median_ms": {k: pct(v, 50) for k, v in floor_stages.items()},
        "floor_stages_p95_ms": {k: pct(v, 95) for k, v in floor_stages.items()},
        "top10_overlap_mean": float(np.mean(overlap)),
        "lancedb_native_queries": len(next(iter(native.values()))),
        "lancedb_native_median_ms": {k: pct(v, 50) for k, v in native.items()},
        "lancedb_native_p95_ms": {k: pct(v, 95) for k, v in native.items()},
        "floor_bm25s": floor.bm25.params,
    }
    path = write_result(args.name, args, results, machine)
    log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
