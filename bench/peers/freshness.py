"""Freshness side by side: how long until a changed document is searchable, and what stale text stays behind.

The corpus (``--docs``, 10,000 by default; 1,000 with ``--quick``) is made deterministically: first the 2,421 real
passages of the two shared dev sets (421 SQuAD, 2,000 NQ-swap; ids kept), then synthetic documents ``syn-NNNNN``,
each 4-8 sentences drawn with ``random.Random(--seed)`` from the pool of all sentences of those passages (cut at
sentence ends). Every document text is distinct (checked).

Then, on the same index, three rounds change 1, 10 and 100 documents (different documents each round, drawn with
the same seed): each changed document gets a new text — a made-up marker word unique to that change, then 4-8
new pool sentences. Per round and tool (and per documented update path) it records:

- ``searchable_s``: from the start of the tool's update call until its first hybrid search returns (the first
  search pays whatever refresh the tool does lazily), searching the opening 40 words of the new text; then every
  changed document is searched for the same way and must be in the top 10 with its new text (``found``);
- ``stale_stored``: chunks the tool still stores for the changed documents whose text is no longer part of the
  document (whitespace-insensitive substring test; LlamaIndex's BM25 retriever keeps its own copy of the nodes,
  so its copy counts too);
- ``stale_retrievable``: distinct hits holding such old text among the top 10 of a bm25 and of a hybrid search
  for the old text's opening 40 words.

Before its rounds, each update path makes one warm-up change: one more document (never one a round changes),
updated and searched for the same way but outside the rounds, recorded as ``warm_up``. A live system has
written before; the first write after a bulk build in the same process pays one-time costs that a change does
not (ragtune on this machine, 10,000 documents: its first two syncs after the build took 0.9 and 0.6 s, the
next ones 0.38-0.48 s; part of it was the virtual machine backing memory the process touched for the first
time). Every tool and path gets the same warm-up, and the rendered tables show it beside the rounds.

Update paths: ragtune through its in-process Python API — ``documents.sync(folder)`` (mirror the folder: hash
every file, re-index the changed ones) and ``documents.ingest_folder_file`` per changed file (the path behind the
HTTP upload route); no CLI process start-up is included. ragtune's HTTP API (tool ``ragtune-api``): a ``ragtune
serve`` subprocess (``bench/serve.py``'s ``Server``, one worker, an admin key) over an index built in-process
from ``RAGTUNE_HOME/uploads/<source>/`` under that source, so the upload route replaces those documents: per
changed file ``POST /v1/documents`` (same name and source: 200, updated), then ``POST /v1/search``, timed on the
client (httpx, one keep-alive connection); the server's start and warm-up are outside the timing, and its own
time in each route (its ``/metrics`` sums) is recorded beside the client times. LlamaIndex: ``refresh_ref_docs``
alone (the retrievers made before it kept), and followed by making the retrievers anew (BM25Retriever from the
docstore, the vector retriever and the fusion retriever). Haystack:
``write_documents(policy=DuplicatePolicy.OVERWRITE)`` alone, and after deleting the changed documents' old chunks
by ``meta.source_id``. Each tool builds its index once, in its own process; the paths of one tool then run one
after the other on that index, each changing its own documents (none changes twice); ``ragtune-api``, in a
process of its own, changes the same documents to the same new texts as ragtune's ``sync``. The model load and
the first build are outside the measurements.

Embedding 10,000 documents three times is slow on 2 cores, so first builds take vectors from a cache on disk
(``--cache``, one folder per embedding model id; keyed by the SHA-256 of the exact text embedded, filled by the
same model the first time a text is seen): ragtune through a caching ``Embedder`` passed to ``Workspace``,
LlamaIndex through nodes that carry their ``embedding`` before ``VectorStoreIndex(nodes)`` (the document hashes
``refresh_ref_docs`` compares are recorded as ``from_documents`` does), Haystack through ``Document.embedding``
set before ``write_documents``. The cache is never used for an update: every changed document is embedded by the
tool's own model call, inside the timing.
``--no-cache`` embeds the first builds too. The recorded build time therefore says little (cache hits vary).

Acceptance check (issue 15): 1 changed document in 10,000 searchable through ragtune in <= 0.5 s with 0 stale,
one row per ragtune update path (in-process sync and upload, and the HTTP API end to end).

    python bench/peers/freshness.py [--quick] [--skip-missing]   # needs .venv-peers: `make bench-peers`
    python bench/peers/freshness.py --tools ragtune,ragtune-api  # ragtune alone: .venv (dev extra: httpx) will do
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(1, str(HERE.parent))  # bench/ for _common; this folder stays first for _tools

import _tools  # noqa: E402  (after the sys.path lines above)
from _tools import LABELS, Doc, MissingPeer, emit, make, peak_rss_mb, squash  # noqa: E402

DATA = HERE.parent.parent.parent / "shared" / "data"
CORPORA = ("squad_dev_corpus.jsonl", "nqswap_dev_corpus.jsonl")
ROUNDS = (1, 10, 100)
TOOLS = ("ragtune", "ragtune-api", "llamaindex", "haystack")  # plain bm25s has no update path: it re-indexes
PATHS = {"ragtune": ("sync", "upload"), "ragtune-api": ("api",), "llamaindex": ("refresh", "refresh+retrievers"),
         "haystack": ("overwrite", "delete+overwrite")}
PATH_LABELS = {
    "sync": "documents.sync(folder)",
    "upload": "documents.ingest_folder_file per file (HTTP upload path)",
    "api": "POST /v1/documents per file, then POST /v1/search (ragtune serve)",
    "refresh": "refresh_ref_docs (retrievers made before it kept)",
    "refresh+retrievers": "refresh_ref_docs + retrievers made anew",
    "overwrite": "write_documents(OVERWRITE)",
    "delete+overwrite": "delete old chunks by source_id + write_documents(OVERWRITE)",
}
K = 10
GOAL_SECONDS = 0.5
DEFAULT_CACHE = Path(os.environ.get("RAGTUNE_CACHE", Path.home() / ".cache" / "ragtune")) / "bench-vectors"
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=None, help="corpus size (default 10000; --quick: 1000)")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma-separated subset of " + ",".join(TOOLS))
    parser.add_argument("--skip-missing", action="store_true",
                        help="leave out a peer that is not installed instead of failing")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help="folder of cached MiniLM vectors for first builds (default %(default)s)")
    parser.add_argument("--no-cache", action="store_true", help="embed every first build with the model")
    parser.add_argument("--name", default="peers_freshness", help="result file name under bench/results/")
    parser.add_argument("--quick", action="store_true", help="1,000 documents; recorded in the results")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.docs is None:
        args.docs = 1000 if args.quick else 10_000
    return args


# ---- the corpus and the changes ----------------------------------------------------------------------------


def real_passages() -> list[Doc]:
    docs = []
    for name in CORPORA:
        with open(DATA / name, encoding="utf-8") as handle:
            docs += [Doc(r["id"], r["text"]) for r in map(json.loads, filter(str.strip, handle))]
    return docs


def sentence_pool(docs: list[Doc]) -> list[str]:
    pool = [s.strip() for d in docs for s in _SENTENCE.split(d.text) if len(s.split()) >= 4]
    return sorted(set(pool))  # sorted: the pool, so the corpus, does not depend on set iteration order


def draw_text(rng: random.Random, pool: list[str]) -> str:
    return " ".join(rng.sample(pool, rng.randint(4, 8)))


def make_corpus(n: int, seed: int) -> tuple[list[Doc], list[str]]:
    """The real passages (the first ``n`` of them when ``n`` is smaller), then synthetic documents up to ``n``."""
    real = real_passages()
    pool = sentence_pool(real)
    rng = random.Random(seed)
    docs = real[:n] + [Doc(f"syn-{i:05d}", draw_text(rng, pool)) for i in range(max(0, n - len(real)))]
    if len({d.text for d in docs}) != len(docs):
        raise SystemExit("freshness: generated documents are not all distinct; change --seed")
    return docs, pool


def plan_changes(docs: list[Doc], pool: list[str], seed: int,
                 paths: int) -> tuple[list[list[list[Doc]]], list[Doc]]:
    """For each update path, for each round, the new versions of that round's documents, and each path's
    warm-up change; no document changes twice, so every path and round starts from documents as first
    built."""
    rng = random.Random(seed + 1)
    picks = rng.sample(range(len(docs)), sum(ROUNDS) * paths)
    chosen = iter(picks)
    plans = []
    for p in range(paths):
        rounds = []
        for size in ROUNDS:
            batch = []
            for j in range(size):
                marker = f"Revision zqp{p}v{size:03d}x{j:03d}k."
                batch.append(Doc(docs[next(chosen)].id, f"{marker} {draw_text(rng, pool)}"))
            rounds.append(batch)
        plans.append(rounds)
    # drawn after the rounds' documents and texts, so those stay what they were before warm-ups existed
    rest = sorted(set(range(len(docs))) - set(picks))
    warm_ups = [Doc(docs[i].id, f"Revision zqp{p}warmk. {draw_text(rng, pool)}")
                for p, i in enumerate(rng.sample(rest, paths))]
    return plans, warm_ups


# ---- worker: one tool, all its update paths, its own process ----------------------------------------------


def stale(hits, current: dict[str, str], ids: set[str]) -> int:
    """Hits of documents in ``ids`` whose text is no longer part of that document's current text."""
    return sum(1 for h in hits if h.doc_id in ids and squash(h.text) not in squash(current[h.doc_id]))


def opening(text: str, words: int = 40) -> str:
    return " ".join(text.split()[:words])


def found(hits, doc: Doc) -> bool:
    """The changed document is among the hits with its new text (the chunk holding its marker)."""
    marker = doc.text.split(" ", 2)[1]
    return any(h.doc_id == doc.id and marker in h.text for h in hits)


def stale_hits(tool, query: str, current: dict[str, str], doc_id: str) -> int:
    """Old-text hits of ``doc_id`` in the top ``K`` of a bm25 or a hybrid search for its old text (fusion can push
    a hit found by one retriever only out of the hybrid top ``K``; the bm25 list shows it)."""
    hits = {(h.doc_id, h.text) for mode in ("bm25", "hybrid") for h in tool.search(query, mode, K)}
    return stale([_tools.Hit(d, t) for d, t in hits], current, {doc_id})


def run_round(tool, path: str, batch: list[Doc], old: dict[str, str], current: dict[str, str]) -> dict:
    """Update, then one hybrid search for the first changed document (timed, and it must find it); then search
    for every changed document and for its old text (not timed)."""
    ids = {d.id for d in batch}
    loadavg = os.getloadavg()
    if hasattr(tool, "before_update"):  # ragtune-api: note the server's per-route totals, outside the timing
        tool.before_update()
    t = time.perf_counter()
    report = tool.update(batch, path)
    update_s = time.perf_counter() - t
    hits = tool.search(opening(batch[0].text), "hybrid", K)
    searchable_s = time.perf_counter() - t
    # ragtune's own stage timings of that first search (ragtune-api: the server's time per route, see _tools)
    stages = dict(getattr(tool, "last_timings", None) or {})
    for doc in batch:
        current[doc.id] = doc.text
    first_found = found(hits, batch[0])
    found_all = sum(found(tool.search(opening(doc.text), "hybrid", K), doc) for doc in batch)
    retrievable = sum(stale_hits(tool, opening(old[doc.id]), current, doc.id) for doc in batch)
    return {"path": path, "changed": len(batch), "update_s": update_s, "searchable_s": searchable_s,
            "first_search_s": searchable_s - update_s, "first_found": first_found, "found": found_all,
            "stale_stored": stale(tool.stored(), current, ids), "stale_retrievable": retrievable,
            "report": report, "first_search_stages_ms": stages, "loadavg_1_5_15": loadavg}


def run_worker(tool_name: str, n: int, seed: int, cache_dir: Path | None) -> dict:
    docs, pool = make_corpus(n, seed)
    paths = PATHS[tool_name]
    plans, warm_ups = plan_changes(docs, pool, seed, len(paths))
    tool = make(tool_name)
    try:
        return measure(tool, docs, plans, warm_ups, paths, cache_dir)
    finally:
        if hasattr(tool, "close"):  # ragtune-api: stop the server
            tool.close()


def measure(tool, docs: list[Doc], plans, warm_ups: list[Doc], paths, cache_dir: Path | None) -> dict:
    t = time.perf_counter()
    tool.load()
    load_s = time.perf_counter() - t
    # one folder per embedding model: ragtune's default (onnx-int8) gives other vectors than the peers' float model
    cache = _tools.VectorCache(cache_dir / tool.embedder_id) if cache_dir else None
    t = time.perf_counter()
    built = tool.build(docs, cache)
    build_s = time.perf_counter() - t
    if cache is not None:
        built["vector_cache"] = {"hits": cache.hits, "misses": cache.misses}
        if cache.misses:
            cache.save()
    if hasattr(tool, "start"):  # ragtune-api: start the server on the built home (not part of the build time)
        built["server"] = tool.start(docs[0])
    for mode in tool.modes:  # every tool has served a query of each mode on the built index, as a live system has
        tool.search(opening(docs[0].text), mode, K)
    current = {d.id: d.text for d in docs}
    baseline_stale = stale(tool.stored(), current, set(current))  # must be 0: checks the stale test itself
    results, warmed = [], []
    for path, rounds, warm_up in zip(paths, plans, warm_ups):
        warmed.append(run_round(tool, path, [warm_up], {warm_up.id: current[warm_up.id]}, current))
        for batch in rounds:
            old = {d.id: current[d.id] for d in batch}
            results.append(run_round(tool, path, batch, old, current))
    return {"tool": tool.name, "documents": len(docs), "config": tool.config(), "load_s": load_s,
            "build_s": build_s, **built, "baseline_stale": baseline_stale, "warm_up": warmed,
            "rounds": results,
            "peak_rss_mb": peak_rss_mb(), "loadavg_1_5_15_at_end": os.getloadavg()}


# ---- parent ------------------------------------------------------------------------------------------------


def spawn(tool: str, args: argparse.Namespace) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", tool, "--docs", str(args.docs),
               "--seed", str(args.seed), "--cache", str(args.cache)] + (["--no-cache"] if args.no_cache else [])
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "HAYSTACK_TELEMETRY_ENABLED": "False"}
    proc = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"freshness: the {tool} worker failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def acceptance(runs: dict[str, dict], docs: int) -> list[dict]:
    """One row per ragtune update path (in-process and HTTP API): its 1-document round."""
    checks = []
    rounds = [r for name in ("ragtune", "ragtune-api") for r in runs.get(name, {}).get("rounds", [])]
    for r in rounds:
        if r["changed"] != 1:
            continue
        ok = (r["searchable_s"] <= GOAL_SECONDS and r["stale_stored"] == 0 and r["stale_retrievable"] == 0
              and r["first_found"] and r["found"] == 1)
        checks.append({"check": f"ragtune {PATH_LABELS[r['path']]}: 1 changed doc in {docs:,} searchable "
                                f"<= {GOAL_SECONDS} s, 0 stale",
                       "value": r["searchable_s"], "stale": r["stale_stored"] + r["stale_retrievable"],
                       "ok": ok})
    return checks


def main() -> int:
    args = parse_args()
    if args.worker:
        emit(run_worker(args.worker, args.docs, args.seed, None if args.no_cache else args.cache))
        return 0
    from _common import log, machine_info, markdown_table, write_result

    tools = []
    for name in args.tools.split(","):
        try:
            make(name)
            tools.append(name)
        except MissingPeer as exc:
            if not args.skip_missing:
                raise SystemExit(f"freshness: {LABELS[name]}: {exc}") from exc
            log(f"freshness: skipping {LABELS[name]}: {exc}")
    machine = machine_info()
    runs = {}
    for tool in tools:
        log(f"{LABELS[tool]}: building {args.docs} documents, then {len(PATHS[tool])} update paths ...")
        runs[tool] = spawn(tool, args)
        log(f"{LABELS[tool]}: build {runs[tool]['build_s']:.0f} s, {runs[tool]['chunks']} chunks")
    checks = acceptance(runs, args.docs)
    rows = [[LABELS[t], PATH_LABELS[r["path"]], r["changed"], r["searchable_s"], f"{r['found']}/{r['changed']}",
             r["stale_stored"], r["stale_retrievable"]] for t, run in runs.items() for r in run["rounds"]]
    print(markdown_table(["tool", "update path", "changed", "searchable s", "found", "stale stored",
                          "stale retrievable"], rows, digits=3))
    print()
    print(markdown_table(["check", "value s", "stale", "result"],
                         [[c["check"], c["value"], c["stale"], "met" if c["ok"] else "MISSED"] for c in checks]))
    corpus = {"documents": args.docs, "real_passages": min(args.docs, len(real_passages())), "seed": args.seed,
              "rounds": list(ROUNDS)}
    versions = {dist: _tools.version(dist) for t in tools for dist in _tools.TOOLS[t].packages}
    results = {"corpus": corpus, "k": K, "goal_s": GOAL_SECONDS, "tools": tools, "versions": versions,
               "path_labels": PATH_LABELS, "runs": runs, "checks": checks,
               "all_checks_ok": bool(checks) and all(c["ok"] for c in checks)}
    log(f"wrote {write_result(args.name, args, results, machine)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
