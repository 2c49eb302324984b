"""How hybrid search should fuse its lists: an ablation on both shared dev sets (squad_dev and nqswap_dev).

Why: with reciprocal rank fusion, ragtune's hybrid only just beat BM25 on SQuAD-style questions (which reuse the
passage's words) and lost to it on a similar unseen set. Each variant below gets the SAME candidate lists — the
top ``--depth`` chunks of ragtune's own BM25 and dense search for every question — and differs only in how it
turns them into one document ranking, so the differences are the fusion method's alone:

- bm25 / dense (chunks): one list, chunks collapsed to their document at its best rank;
- dense (whole passages): exact MiniLM cosine over each passage embedded whole (the embedder reads its first 256
  tokens), what a plain sentence-transformers script does — does chunking hurt dense retrieval?
- rrf k=60 (the fusion before z-score) and rrf k=10: ``ragtune.retrieve.fusion.reciprocal_rank_fusion``;
- rrf, documents first: both lists collapsed to documents before fusing (does chunk-level fusion lose anything?);
- zscore: ``ragtune.retrieve.fusion.zscore_fusion`` (CombSUM of per-list z-scores, no weight to fit);
- zscore at depth 50: the same with half the candidates (is it sensitive to list depth?);
- hybrid (ragtune default): ``documents.search(mode="hybrid")`` itself, to show the shipped path is the method.

A method is chosen by the mean over both sets, never on one. nDCG@10 and recall@5 at the document level.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from _common import (
    DATA_DIR,
    add_quick_flag,
    apply_sizes,
    load_embedder_warm,
    log,
    machine_info,
    machine_line,
    read_jsonl,
    write_result,
)

DEPTH = 100
SETS = {"squad_dev": ("squad_dev_corpus.jsonl", "squad_dev_qa.jsonl"),
        "nqswap_dev": ("nqswap_dev_corpus.jsonl", "nqswap_dev_qa.jsonl")}
Lists = dict[str, list[tuple[str, float]]]  # retriever → (chunk id, score), best first


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None,
                        help="questions per set (default: all with a gold passage; --quick: 400)")
    parser.add_argument("--depth", type=int, default=DEPTH, help="candidates per list before fusion")
    parser.add_argument("--name", default="fusion", help="result file name under bench/results/")
    add_quick_flag(parser)
    return apply_sizes(parser.parse_args(), full={"limit": None}, quick={"limit": 400})


def documents_of(chunk_ids: Sequence[str], doc_of: dict[str, str]) -> list[str]:
    """Chunk ranking → document ranking, each document at its best rank."""
    from ragtune.evaluate.metrics import dedupe

    return dedupe([doc_of[c] for c in chunk_ids])


def variants(depth: int) -> dict[str, Callable[[Lists, dict[str, str]], list[str]]]:
    from ragtune.retrieve.fusion import reciprocal_rank_fusion, zscore_fusion

    def ids(lists: Lists, name: str) -> list[str]:
        return [c for c, _ in lists[name]]

    def rrf(k: int) -> Callable[[Lists, dict[str, str]], list[str]]:
        return lambda lists, doc_of: documents_of(
            [f.item for f in reciprocal_rank_fusion({n: ids(lists, n) for n in lists}, k)], doc_of)

    def documents_first(lists: Lists, doc_of: dict[str, str]) -> list[str]:
        return [f.item for f in reciprocal_rank_fusion({n: documents_of(ids(lists, n), doc_of) for n in lists}, 60)]

    def zscore(at: int) -> Callable[[Lists, dict[str, str]], list[str]]:
        return lambda lists, doc_of: documents_of(
            [f.item for f in zscore_fusion({n: items[:at] for n, items in lists.items()})], doc_of)

    return {
        "bm25": lambda lists, doc_of: documents_of(ids(lists, "bm25"), doc_of),
        "dense (chunks)": lambda lists, doc_of: documents_of(ids(lists, "dense"), doc_of),
        "rrf k=60 (before z-score)": rrf(60),
        "rrf k=10": rrf(10),
        "rrf, documents first": documents_first,
        f"zscore (depth {depth})": zscore(depth),
        f"zscore (depth {depth // 2})": zscore(depth // 2),
    }


def score_set(name: str, corpus: Path, qa: Path, limit: int | None, depth: int, embedder, home: Path) -> dict:
    from ragtune import Workspace
    from ragtune.evaluate.metrics import ndcg_at_k, recall_at_k

    items = [q for q in read_jsonl(qa) if q.get("gold_doc_ids")][:limit]
    workspace = Workspace(home, embedder=embedder)
    t = time.perf_counter()
    workspace.documents.ingest([corpus])
    ingest_s = time.perf_counter() - t
    gold_of = workspace.documents.resolve_ids({d for q in items for d in q["gold_doc_ids"]})
    passages = read_jsonl(corpus)
    passage_ids = [gold_of.get(p["id"], p["id"]) for p in passages]
    log(f"{name}: ingested {len(passages)} passages in {ingest_s:.0f} s; embedding them whole ...")
    passage_vectors = embedder.embed([p["text"] for p in passages])
    methods = variants(depth)
    rankings: dict[str, list[list[str]]] = {m: [] for m in (*methods, "dense (whole passages)",
                                                               "hybrid (ragtune default)")}
    golds = []
    t = time.perf_counter()
    # the whole-passage baseline is a plain script's: its queries are embedded in one batch
    whole = passage_vectors @ embedder.embed([item["question"] for item in items]).T
    for n, item in enumerate(items, start=1):
        question = item["question"]
        lists: Lists = {}
        doc_of: dict[str, str] = {}
        for mode in ("bm25", "dense"):
            hits = workspace.documents.search(question, mode=mode, k=depth).hits
            lists[mode] = [(h.chunk.chunk_id, h.scores[mode]) for h in hits]
            doc_of.update((h.chunk.chunk_id, h.chunk.doc_id) for h in hits)
        for method, rank in methods.items():
            rankings[method].append(rank(lists, doc_of))
        order = np.argsort(-whole[:, n - 1], kind="stable")[:depth]
        rankings["dense (whole passages)"].append([passage_ids[i] for i in order])
        hybrid = workspace.documents.search(question, mode="hybrid", k=depth).hits
        rankings["hybrid (ragtune default)"].append(documents_of([h.chunk.chunk_id for h in hybrid],
                                                                 {h.chunk.chunk_id: h.chunk.doc_id for h in hybrid}))
        golds.append([gold_of.get(d, d) for d in item["gold_doc_ids"]])
        if n % 200 == 0:
            log(f"{name}: {n}/{len(items)} questions ({(time.perf_counter() - t) / n * 1000:.0f} ms each)")
    return {
        "questions": len(items), "passages": len(passages), "chunks": workspace.documents.status().chunks,
        "ingest_seconds": round(ingest_s, 1), "query_seconds": round(time.perf_counter() - t, 1),
        "variants": {method: {"ndcg@10": round(float(np.mean([ndcg_at_k(r, g, 10) for r, g in zip(ranked, golds)])), 4),
                              "recall@5": round(float(np.mean([recall_at_k(r, g, 5) for r, g in zip(ranked, golds)])), 4)}
                     for method, ranked in rankings.items()},
    }


def main() -> int:
    args = parse_args()
    machine = machine_info()
    log(f"machine: {machine_line(machine)}")
    embedder = load_embedder_warm()
    sets = {}
    with tempfile.TemporaryDirectory(prefix="ragtune-bench-fusion-") as tmp:
        for name, (corpus, qa) in SETS.items():
            sets[name] = score_set(name, DATA_DIR / corpus, DATA_DIR / qa, args.limit, args.depth, embedder,
                                   Path(tmp) / name)
    methods = list(next(iter(sets.values()))["variants"])
    mean = {m: round(float(np.mean([s["variants"][m]["ndcg@10"] for s in sets.values()])), 4) for m in methods}
    for m in methods:
        print(f"{m:30s} " + " ".join(f"{s['variants'][m]['ndcg@10']:.4f}" for s in sets.values()) + f"  {mean[m]:.4f}")
    path = write_result(args.name, args, {"depth": args.depth, "sets": sets, "mean_ndcg@10": mean}, machine)
    log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
