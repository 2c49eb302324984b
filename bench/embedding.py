"""The embedder's backends against the float PyTorch model: speed, and retrieval quality on both shared dev sets.

What it measures, for each backend (``torch`` — sentence-transformers, the reference; ``onnx`` — the same network
exported to ONNX and run by onnxruntime; ``onnx-int8`` — its dynamic int8 quantization):

- the one-time costs: exporting the ONNX files into an empty cache (both files at once), and loading each backend
  up to its first vector;
- ingest-size batches: passages/s embedding ``--passages`` passages of both corpora (``batch_size=64``,
  ragtune's ``embed_batch_size``; the ONNX backends also cap a batch at 256 padded tokens and run batches
  side by side, one per core, as they do in an ingest), the best of ``--repeats`` runs per backend (noise on a
  shared machine only adds time), the backends interleaved within each repeat;
- one query at a time: latency p50/p95 of ``embed([question])`` over ``--queries`` questions, backends
  interleaved per query after a warm-up;
- quality: ``evaluation.retrieval`` (``ragtune eval retrieval``) on squad_dev and nqswap_dev with each backend —
  nDCG@10 of dense and hybrid search (bm25 does not embed: the same for all) — and each fast backend's
  difference to torch, paired per question, with the gate: a backend may become the default only if its nDCG@10
  is at most 0.005 below torch's on BOTH sets in BOTH modes. Nothing is tuned on either set.

A full run scores every question of both sets over the whole corpora; ``--quick`` scores the first 100 questions
whose gold passage is among the first 120 passages of each corpus, over those passages, with fewer passages and
queries for speed: a regression check, not the gate's evidence.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import (
    DATA_DIR,
    add_quick_flag,
    apply_sizes,
    check_mark,
    log,
    machine_info,
    machine_line,
    markdown_table,
    pct,
    read_jsonl,
    write_result,
)

BACKENDS = ("torch", "onnx", "onnx-int8")
FAST = ("onnx", "onnx-int8")
# Speed is also measured for torch limited to one thread: on a busy 2-core machine torch's two OpenMP threads wait
# on each other, and a single short query can take many times longer than with one thread.
SPEED_VARIANTS = (*BACKENDS, "torch (1 thread)")
SETS = {"squad_dev": ("squad_dev_corpus.jsonl", "squad_dev_qa.jsonl"),
        "nqswap_dev": ("nqswap_dev_corpus.jsonl", "nqswap_dev_qa.jsonl")}
MODES = ("dense", "hybrid")
GATE = 0.005  # the most nDCG@10 a faster backend may lose against torch, on each set and mode
BATCH = 64


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=None,
                        help="passages per throughput run, half from each corpus (default 512; --quick: 128)")
    parser.add_argument("--repeats", type=int, default=None, help="throughput runs per backend (default 2; --quick: 1)")
    parser.add_argument("--queries", type=int, default=None,
                        help="single-query latency samples per backend (default 200; --quick: 40)")
    parser.add_argument("--corpus-limit", type=int, default=None,
                        help="passages of each corpus to score quality on (default: all; --quick: 80)")
    parser.add_argument("--limit", type=int, default=None,
                        help="questions per set to score quality on (default: all; --quick: 60)")
    parser.add_argument("--seed", type=int, default=11, help="passage and query sample seed")
    parser.add_argument("--name", default="embedding", help="result file name under bench/results/")
    add_quick_flag(parser)
    return apply_sizes(parser.parse_args(), full={"passages": 512, "repeats": 2, "queries": 200, "corpus_limit": None,
                             "limit": None},
                       quick={"passages": 128, "repeats": 1, "queries": 40, "corpus_limit": 80, "limit": 60})


def export_and_load(cache: Path) -> tuple[dict, dict]:
    """The backends, each loaded to its first vector; the ONNX export timed into the empty ``cache``."""
    os.environ["RAGTUNE_CACHE"] = str(cache)
    from ragtune.models.embedder import default_embedder_path, load_embedder
    from ragtune.models.onnx_export import exported_embedder

    t = time.perf_counter()
    exported_embedder(default_embedder_path())
    export_s = time.perf_counter() - t
    embedders, load_s = {}, {}
    for backend in BACKENDS:
        t = time.perf_counter()
        embedders[backend] = load_embedder("default", "cpu", backend)
        embedders[backend].embed(["load the model"])
        load_s[backend] = time.perf_counter() - t
    for embedder in embedders.values():  # warm every path once more, a batch included
        embedder.warm_up()  # every session a query and a document use
        embedder.embed(["warm up", "a second, slightly longer text"])
    return embedders, {"export_s": export_s, "load_s": load_s}


def timed_embed(embedders: dict, variant: str, texts: list[str], batch_size: int) -> float:
    """Seconds for one ``embed`` call of ``variant`` (a backend, or torch limited to one thread)."""
    import torch

    threads = torch.get_num_threads()
    one_thread = variant == "torch (1 thread)"
    if one_thread:
        torch.set_num_threads(1)
    try:
        t = time.perf_counter()
        embedders["torch" if one_thread else variant].embed(texts, batch_size=batch_size)
        return time.perf_counter() - t
    finally:
        torch.set_num_threads(threads)


def throughput(embedders: dict, passages: list[str], repeats: int) -> dict:
    runs: dict[str, list[float]] = {v: [] for v in SPEED_VARIANTS}
    for r in range(repeats):
        for variant in SPEED_VARIANTS if r % 2 == 0 else SPEED_VARIANTS[::-1]:
            runs[variant].append(timed_embed(embedders, variant, passages, BATCH))
        log(f"throughput run {r + 1}/{repeats}: " + ", ".join(f"{v} {runs[v][-1]:.1f} s" for v in SPEED_VARIANTS))
    return {v: {"passages": len(passages), "best_s": min(runs[v]), "runs_s": runs[v],
                "passages_per_s": len(passages) / min(runs[v])} for v in SPEED_VARIANTS}


def latency(embedders: dict, questions: list[str], warmup: int = 10) -> dict:
    for q in questions[:warmup]:
        for variant in SPEED_VARIANTS:
            timed_embed(embedders, variant, [q], BATCH)
    times: dict[str, list[float]] = {v: [] for v in SPEED_VARIANTS}
    for i, q in enumerate(questions):
        for variant in SPEED_VARIANTS if i % 2 == 0 else SPEED_VARIANTS[::-1]:
            times[variant].append(timed_embed(embedders, variant, [q], BATCH) * 1000)
    return {v: {"queries": len(t), "p50_ms": pct(t, 50), "p95_ms": pct(t, 95), "mean_ms": float(np.mean(t))}
            for v, t in times.items()}


class OnceEach:
    """Embeds each single text once: dense and hybrid search both embed the question alone, and a backend gives
    the same vector for the same text alone every time, so the second call is served from the first. Batches
    pass through (an int8 vector depends on its batch)."""

    def __init__(self, inner) -> None:
        self.inner, self.model_id, self.dim = inner, inner.model_id, inner.dim
        self._seen: dict[str, np.ndarray] = {}

    def embed(self, texts, batch_size: int = 64) -> np.ndarray:
        if len(texts) != 1:
            return self.inner.embed(texts, batch_size=batch_size)
        if texts[0] not in self._seen:
            self._seen[texts[0]] = self.inner.embed(texts, batch_size=batch_size)
        return self._seen[texts[0]].copy()

    def count_tokens(self, texts):
        return self.inner.count_tokens(texts)


def onnx_threads(embedder) -> str:
    """How the ONNX backends used the cores in this run (see ragtune.models.onnx_embedder)."""
    from ragtune.models import onnx_embedder

    embedder._load()
    if embedder._workers == 1:
        return "its default (one per physical core)"
    return (f"a lone batch on its default threads (one per physical core); several batches side by side "
            f"on {embedder._workers} single-thread workers, at most {onnx_embedder.MAX_BATCH_TOKENS} "
            "padded tokens a batch")


def subset(corpus: Path, qa: Path, passages: int | None, limit: int | None, folder: Path) -> tuple[Path, Path]:
    """The first ``passages`` passages and the first ``limit`` questions whose gold passages are all among them."""
    if passages is None and limit is None:
        return corpus, qa
    rows = read_jsonl(corpus)[:passages]
    ids = {r["id"] for r in rows}
    questions = [q for q in read_jsonl(qa) if q.get("gold_doc_ids") and set(q["gold_doc_ids"]) <= ids][:limit]
    out_corpus, out_qa = folder / corpus.name, folder / qa.name
    out_corpus.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out_qa.write_text("".join(json.dumps(q) + "\n" for q in questions), encoding="utf-8")
    return out_corpus, out_qa


def paired(ours: dict[str, float], reference: dict[str, float], seed: int = 0, rounds: int = 2000) -> dict:
    """Mean per-question difference ours − reference with a 95% bootstrap interval."""
    keys = sorted(reference)
    diff = np.array([ours[k] - reference[k] for k in keys])
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), (rounds, len(diff)))].mean(axis=1)
    return {"mean": float(diff.mean()), "ci95": [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))],
            "n": len(diff), "changed": int((np.abs(diff) > 1e-9).sum())}


def quality(embedders: dict, passages: int | None, limit: int | None, tmp: Path) -> dict:
    """nDCG@10 per set and backend. torch runs on one thread here: the vectors do not depend on it, and on a busy
    machine two threads make the thousands of single-question embeddings many times slower."""
    import torch

    from ragtune import Workspace

    torch.set_num_threads(1)

    sets = {}
    for name, (corpus_file, qa_file) in SETS.items():
        folder = tmp / name
        folder.mkdir()
        corpus, qa = subset(DATA_DIR / corpus_file, DATA_DIR / qa_file, passages, limit, folder)
        scores, per_question = {}, {}
        for backend in BACKENDS:
            t = time.perf_counter()
            workspace = Workspace(folder / f"home-{backend}", embedder=OnceEach(embedders[backend]))
            result = workspace.evaluation.retrieval(corpus, qa)
            scores[backend] = {m: result.modes[m].to_json()["ndcg@10"] for m in MODES}
            per_question[backend] = result.per_question
            log(f"{name} {backend}: " + ", ".join(f"{m} {scores[backend][m]:.4f}" for m in MODES)
                + f" ({time.perf_counter() - t:.0f} s)")
        sets[name] = {
            "questions": result.evaluated, "passages": result.documents, "chunks": result.chunks,
            "ndcg@10": scores,
            "difference_to_torch": {b: {m: paired(per_question[b][m], per_question["torch"][m]) for m in MODES}
                                    for b in FAST},
        }
    return sets


def gate(sets: dict) -> dict:
    """Per fast backend: each set × mode's nDCG@10 − torch's, and whether every one is above −GATE."""
    out = {}
    for backend in FAST:
        checks = [{"set": s, "mode": m, "delta": r["ndcg@10"][backend][m] - r["ndcg@10"]["torch"][m]}
                  for s, r in sets.items() for m in MODES]
        for c in checks:
            c["ok"] = c["delta"] >= -GATE - 1e-12
        out[backend] = {"checks": checks, "passed": all(c["ok"] for c in checks)}
    return out


def main() -> int:
    args = parse_args()
    machine = machine_info()  # the load average at the start is in here
    log(f"machine: {machine_line(machine)}")
    rng = random.Random(args.seed)
    corpora = {name: read_jsonl(DATA_DIR / corpus) for name, (corpus, _) in SETS.items()}
    half = args.passages // 2
    passages = [r["text"] for rows in corpora.values() for r in rng.sample(rows, min(half, len(rows)))]
    questions = [q["question"] for name, (_, qa) in SETS.items() for q in read_jsonl(DATA_DIR / qa)]
    questions = rng.sample(questions, min(args.queries, len(questions)))

    with tempfile.TemporaryDirectory(prefix="ragtune-bench-embedding-") as tmp:
        embedders, once = export_and_load(Path(tmp) / "cache")
        log(f"export {once['export_s']:.1f} s; throughput on {len(passages)} passages ...")
        speed = throughput(embedders, passages, args.repeats)
        log(f"single-query latency on {len(questions)} questions ...")
        lat = latency(embedders, questions)
        sets = quality(embedders, args.corpus_limit, args.limit, Path(tmp))

    from ragtune.models.embedder import CPU_BACKEND

    verdict = gate(sets)
    torch_speed = speed["torch"]["passages_per_s"]
    rows = [[v, embedders[v.split(" ")[0]].model_id, speed[v]["passages_per_s"],
             f"{speed[v]['passages_per_s'] / torch_speed:.2f}x", lat[v]["p50_ms"], lat[v]["p95_ms"]]
            for v in SPEED_VARIANTS]
    print(markdown_table(["backend", "model_id", "passages/s", "vs torch", "query p50 ms", "query p95 ms"], rows,
                         digits=2))
    print()
    print(markdown_table(["gate (nDCG@10 − torch >= −0.005)", *(f"{s} {m}" for s in SETS for m in MODES), "result"],
                         [[b, *(f"{c['delta']:+.4f}" for c in verdict[b]["checks"]), check_mark(verdict[b]["passed"])]
                          for b in FAST]))
    results = {
        "backends": list(BACKENDS), "speed_variants": list(SPEED_VARIANTS), "batch_size": BATCH,
        "quality_torch_threads": 1, "gate": GATE, "cpu_default_at_commit": CPU_BACKEND,
        "export_s": once["export_s"], "load_s": once["load_s"],
        "throughput": speed, "latency": lat, "sets": sets, "verdict": verdict,
        "model_ids": {b: embedders[b].model_id for b in BACKENDS},
        "torch_threads": machine["torch_threads"],
        "onnxruntime_threads": onnx_threads(embedders["onnx-int8"]),
        "int8_file": embedders["onnx-int8"].model_file.name,  # which int8 copy this machine's CPU ran
    }
    path = write_result(args.name, args, results, machine)
    log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
