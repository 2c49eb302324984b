"""`ragtune serve` under load: 50 concurrent clients against search and against answers, plus uploads during
queries.

What it measures: a real `ragtune serve` subprocess (127.0.0.1, a free port, ``--workers`` processes) over a
temporary home holding the SQuAD dev passages (ingested with the real embedder before the server starts). A
non-admin key (group ``bench``) is created with ``ragtune keys create``. Then, each phase for ``--duration``
seconds, ``--clients`` concurrent HTTP clients (one asyncio loop, httpx, keep-alive) send requests back to back:

1. ``search``: ``POST /v1/search`` (hybrid, k=10) with SQuAD dev questions;
2. ``answer``: ``POST /v1/chat/completions`` (non-streamed, ``model: default``) with the real local generator
   (SmolLM2-135M) and a fixed budget of ``--max-tokens`` new tokens — the server generates one answer at a time,
   so latency here is mostly queueing behind the model;
3. ``search+uploads``: the search load again while ``--uploaders`` clients upload distinct markdown files
   (``POST /v1/documents``) back to back. Afterwards every acknowledged upload (201/200) must be readable
   (``GET /v1/documents/{id}``), listed, and found by a bm25 search for the unique word it carries.

A request counts as an error when it raises (connection, timeout) or answers anything but 200/201 with the
expected JSON. Requests still in flight at the deadline are awaited and counted. Latency is the client-side wall
time from sending to the last byte; requests/s = completed requests / (last completion − phase start).

Why: issue #12 item 7: the server must hold 50 concurrent clients with zero errors and lose no acknowledged
write. The load generator shares the 2 cores with the server; its CPU time is recorded per phase.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from _common import (
    ROOT,
    SQUAD_CORPUS,
    SQUAD_QA,
    add_quick_flag,
    apply_sizes,
    log,
    machine_info,
    machine_line,
    markdown_table,
    pct,
    read_jsonl,
    write_result,
)

UPLOAD_SOURCE = "bench-uploads"
GROUP = "bench"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=None,
                        help="concurrent clients per phase (default 50; --quick: 12)")
    parser.add_argument("--duration", type=float, default=None,
                        help="seconds each phase sends requests (default 60; --quick: 6)")
    parser.add_argument("--uploaders", type=int, default=None,
                        help="concurrent uploaders during the search+uploads phase (default 2)")
    parser.add_argument("--max-tokens", type=int, default=8, help="new-token budget of each answer")
    parser.add_argument("--workers", type=int, default=1, help="ragtune serve --workers")
    parser.add_argument("--corpus", type=Path, default=SQUAD_CORPUS)
    parser.add_argument("--qa", type=Path, default=SQUAD_QA)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--keep-home", action="store_true", help="keep the temporary home and the server log")
    parser.add_argument("--name", default="serve", help="result file name under bench/results/")
    add_quick_flag(parser)
    return apply_sizes(parser.parse_args(), full={"clients": 50, "duration": 60.0, "uploaders": 2},
                       quick={"clients": 12, "duration": 6.0, "uploaders": 2})


# ---- the server -------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGTUNE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
    env["HF_HUB_OFFLINE"] = "1"
    env["TOKENIZERS_PARALLELISM"] = "false"
    return env


def cli(home: Path, *args: str) -> dict:
    command = [sys.executable, "-m", "ragtune.cli.main", "--home", str(home), *args, "--json"]
    proc = subprocess.run(command, capture_output=True, text=True, env=child_env(), cwd=ROOT, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout)


class Server:
    """`ragtune serve` in a subprocess of its own process group; stopped with SIGINT, then SIGKILL."""

    def __init__(self, home: Path, workers: int, log_path: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        command = [sys.executable, "-m", "ragtune.cli.main", "--home", str(home), "serve", "--host", "127.0.0.1",
                   "--port", str(self.port), "--workers", str(workers)]
        self.log_file = open(log_path, "wb")  # noqa: SIM115 — open while the server runs, closed in stop()
        started = time.perf_counter()
        self.proc = subprocess.Popen(command, stdout=self.log_file, stderr=subprocess.STDOUT,
                                     env={**child_env(), **(env or {})},
                                     cwd=ROOT, start_new_session=True)
        self.startup_s = self._wait_ready(started)

    def _wait_ready(self, started: float, timeout: float = 180.0) -> float:
        import httpx

        while time.perf_counter() - started < timeout:
            if self.proc.poll() is not None:
                raise SystemExit(f"ragtune serve exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit(f"ragtune serve did not answer /healthz within {timeout:.0f} s:\n{self.tail()}")

    def tail(self, chars: int = 3000) -> str:
        self.log_file.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log_file.close()
        return self.proc.returncode


# ---- load -------------------------------------------------------------------------------------------------------


class Phase:
    """Latencies and outcomes of one phase's requests."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.latencies_ms: list[float] = []
        self.errors: Counter = Counter()
        self.examples: dict[str, str] = {}
        self.extra: Counter = Counter()
        self.started = self.finished = 0.0
        self.cpu_s = 0.0

    def record(self, seconds: float, error: str | None, detail: str = "") -> None:
        self.latencies_ms.append(seconds * 1000)
        if error:
            self.errors[error] += 1
            self.examples.setdefault(error, detail[:300])
        self.finished = max(self.finished, time.perf_counter())

    def summary(self) -> dict:
        lat = self.latencies_ms
        elapsed = (self.finished or time.perf_counter()) - self.started
        errors = sum(self.errors.values())
        return {
            "requests": len(lat),
            "errors": errors,
            "error_kinds": dict(self.errors),
            "error_examples": self.examples,
            "elapsed_s": round(elapsed, 2),
            "requests_per_s": round(len(lat) / elapsed, 2) if elapsed > 0 else 0.0,
            "ok_per_s": round((len(lat) - errors) / elapsed, 2) if elapsed > 0 else 0.0,
            "latency_ms": {
                "p50": round(pct(lat, 50), 1), "p95": round(pct(lat, 95), 1), "p99": round(pct(lat, 99), 1),
                "mean": round(sum(lat) / len(lat), 1), "max": round(max(lat), 1),
            } if lat else {},
            "load_generator_cpu_s": round(self.cpu_s, 2),
            **({"counts": dict(self.extra)} if self.extra else {}),
        }


async def timed(phase: Phase, send, check) -> object | None:
    """Send one request, record its latency and whether it failed; return the response on success."""
    import httpx

    started = time.perf_counter()
    try:
        response = await send()
    except httpx.HTTPError as exc:
        phase.record(time.perf_counter() - started, type(exc).__name__, repr(exc))
        return None
    seconds = time.perf_counter() - started
    if response.status_code not in (200, 201):
        phase.record(seconds, f"http_{response.status_code}", response.text)
        return None
    try:
        problem = check(response.json())
    except ValueError:
        problem = "not JSON"
    phase.record(seconds, "bad_body" if problem else None, problem or "")
    return None if problem else response


def search_check(body: dict) -> str | None:
    if not isinstance(body.get("results"), list) or not body["results"]:
        return f"no results: {json.dumps(body)[:200]}"
    return None


def answer_check(phase: Phase):
    def check(body: dict) -> str | None:
        extra = body.get("ragtune")
        if not body.get("choices") or not isinstance(extra, dict) or "audit_id" not in extra:
            return f"not a ragtune chat completion: {json.dumps(body)[:200]}"
        phase.extra["abstained" if extra.get("abstained") else "answered"] += 1
        return None
    return check


async def run_clients(phase: Phase, clients: int, duration: float, one_request, side_tasks=()) -> None:
    """``clients`` loops calling ``one_request()`` until the deadline (in-flight requests finish and count)."""
    deadline = time.perf_counter() + duration

    async def loop() -> None:
        while time.perf_counter() < deadline:
            await one_request()

    cpu = time.process_time()
    phase.started = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(clients)), *(task(deadline) for task in side_tasks))
    phase.cpu_s = time.process_time() - cpu


def upload_text(rng: random.Random, passage: str, number: int) -> tuple[str, str]:
    """A distinct markdown file: a heading with a unique made-up word, the word again in the body, a passage."""
    word = "zq" + "".join(rng.choice(string.ascii_lowercase) for _ in range(10))
    return word, (f"# Bench upload {number}: {word}\n\nThe marker word of this file is {word}.\n\n{passage}\n")


async def load_phases(args: argparse.Namespace, server: Server, key: str, questions: list[str],
                      passages: list[str]) -> dict:
    import httpx

    rng = random.Random(args.seed)
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=args.clients + args.uploaders + 4, max_keepalive_connections=None)
    timeout = httpx.Timeout(900.0, connect=30.0)
    out: dict = {}
    async with httpx.AsyncClient(base_url=server.base, headers=headers, limits=limits, timeout=timeout) as http:
        # ---- warm-up: the first search loads the embedder, the first answer the generator
        warm: dict = {}
        for label, send in (
            ("search", lambda: http.post("/v1/search", json={"query": questions[0], "mode": "hybrid", "k": 10})),
            ("answer", lambda: http.post("/v1/chat/completions", json={
                "model": "default", "messages": [{"role": "user", "content": questions[1]}],
                "max_tokens": args.max_tokens})),
        ):
            started = time.perf_counter()
            response = await send()
            if response.status_code != 200:
                raise SystemExit(f"warm-up {label} failed: {response.status_code} {response.text[:500]}")
            warm[f"first_{label}_s"] = round(time.perf_counter() - started, 2)
            log(f"warm-up {label}: {warm[f'first_{label}_s']} s")
        out["warmup"] = warm

        def search_request(phase: Phase):
            return lambda: timed(phase, lambda: http.post(
                "/v1/search", json={"query": rng.choice(questions), "mode": "hybrid", "k": 10}), search_check)

        # ---- 1: search
        phase = Phase("search")
        log(f"search: {args.clients} clients for {args.duration:g} s")
        await run_clients(phase, args.clients, args.duration, search_request(phase))
        out["search"] = phase.summary()
        log(f"  {json.dumps(out['search']['latency_ms'])}, {out['search']['requests_per_s']} req/s, "
            f"errors {out['search']['errors']}")

        # ---- 2: answers
        phase = Phase("answer")
        check = answer_check(phase)
        log(f"answer: {args.clients} clients for {args.duration:g} s (max_tokens {args.max_tokens})")
        await run_clients(phase, args.clients, args.duration, lambda: timed(phase, lambda: http.post(
            "/v1/chat/completions", json={"model": "default", "max_tokens": args.max_tokens, "temperature": 0,
                                          "messages": [{"role": "user", "content": rng.choice(questions)}]}),
            check))
        out["answer"] = phase.summary()
        log(f"  {json.dumps(out['answer']['latency_ms'])}, {out['answer']['requests_per_s']} req/s, "
            f"errors {out['answer']['errors']}")

        # ---- 3: search while uploading
        phase = Phase("search+uploads")
        uploads: list[dict] = []
        counter = iter(range(10**9))

        async def uploader(deadline: float) -> None:
            while time.perf_counter() < deadline:
                number = next(counter)
                word, text = upload_text(rng, passages[number % len(passages)], number)
                name = f"upload-{number:05d}.md"
                started = time.perf_counter()
                entry = {"name": name, "word": word, "text": text}
                try:
                    response = await http.post("/v1/documents", data={"source": UPLOAD_SOURCE},
                                               files={"file": (name, text.encode(), "text/markdown")})
                    entry["status"] = response.status_code
                    if response.status_code in (200, 201):
                        entry["id"] = response.json()["id"]
                    else:
                        entry["error"] = response.text[:300]
                except httpx.HTTPError as exc:
                    entry["status"], entry["error"] = None, repr(exc)
                entry["ms"] = (time.perf_counter() - started) * 1000
                uploads.append(entry)

        log(f"search+uploads: {args.clients} search clients and {args.uploaders} uploaders for {args.duration:g} s")
        await run_clients(phase, args.clients, args.duration, search_request(phase),
                          side_tasks=[uploader] * args.uploaders)
        out["search_with_uploads"] = phase.summary()
        log(f"  {json.dumps(out['search_with_uploads']['latency_ms'])}, "
            f"{out['search_with_uploads']['requests_per_s']} req/s, errors {out['search_with_uploads']['errors']}")
        out["uploads"] = await verify_uploads(http, uploads)
    return out


async def verify_uploads(http, uploads: list[dict]) -> dict:
    """Every acknowledged upload must be readable with its text, listed, and found by searching its word."""
    acked = [u for u in uploads if u.get("id")]
    listed_ids = set()
    response = await http.get("/v1/documents", params={"source": UPLOAD_SOURCE})
    if response.status_code == 200:
        listed_ids = {d["id"] for d in response.json()["documents"]}
    readable = found = 0
    missing: list[dict] = []
    for u in acked:
        got = await http.get("/v1/documents/" + u["id"])
        ok_read = got.status_code == 200 and u["word"] in got.json().get("text", "")
        hits = await http.post("/v1/search", json={"query": u["word"], "mode": "bm25", "k": 5})
        ids = [h["doc_id"] for h in hits.json().get("results", [])] if hits.status_code == 200 else []
        ok_search = u["id"] in ids
        readable += ok_read
        found += ok_search
        if not (ok_read and ok_search and u["id"] in listed_ids):
            missing.append({"id": u["id"], "readable": ok_read, "found_by_search": ok_search,
                            "listed": u["id"] in listed_ids})
    statuses = Counter(str(u["status"]) for u in uploads)
    lat = [u["ms"] for u in acked]
    return {
        "attempted": len(uploads),
        "acknowledged": len(acked),
        "status_counts": dict(statuses),
        "failed_examples": [u.get("error") for u in uploads if not u.get("id")][:5],
        "readable": readable,
        "found_by_search": found,
        "listed": sum(u["id"] in listed_ids for u in acked),
        "missing": missing[:20],
        "latency_ms": {"p50": round(pct(lat, 50), 1), "p95": round(pct(lat, 95), 1),
                       "max": round(max(lat), 1)} if lat else {},
    }


# ---- main -------------------------------------------------------------------------------------------------------


def build_home(home: Path, corpus: Path) -> dict:
    """Ingest the corpus with the real embedder, in this process (the server loads its own copy)."""
    from ragtune import Workspace

    started = time.perf_counter()
    workspace = Workspace(home)
    workspace.documents.ingest([corpus])
    status = workspace.documents.status()
    return {"ingest_s": round(time.perf_counter() - started, 2), "documents": status.documents,
            "chunks": status.chunks, "search": status.search}


def checks_for(out: dict) -> list[dict]:
    uploads = out["uploads"]
    checks = [{"check": f"{name}: errors == 0", "value": out[key]["errors"], "ok": out[key]["errors"] == 0}
              for name, key in (("search", "search"), ("answer", "answer"),
                                ("search during uploads", "search_with_uploads"))]
    failed_uploads = uploads["attempted"] - uploads["acknowledged"]
    checks.append({"check": "uploads: every one acknowledged (201/200)", "value": failed_uploads,
                   "ok": failed_uploads == 0 and uploads["attempted"] > 0})
    lost = uploads["acknowledged"] - min(uploads["readable"], uploads["found_by_search"], uploads["listed"])
    checks.append({"check": "acknowledged uploads readable, listed and found by search", "value": lost,
                   "ok": lost == 0 and uploads["acknowledged"] > 0})
    return checks


def main() -> None:
    args = parse_args()
    machine = machine_info()
    rng = random.Random(args.seed)
    questions = [row["question"] for row in read_jsonl(args.qa)]
    rng.shuffle(questions)
    passages = [row["text"] for row in read_jsonl(args.corpus)]
    tmp = Path(tempfile.mkdtemp(prefix="ragtune-bench-serve-"))
    home = tmp / "home"
    server = None
    try:
        log(f"ingesting {args.corpus.name} into {home}")
        corpus = build_home(home, args.corpus)
        log(f"  {corpus}")
        key = cli(home, "keys", "create", "--groups", GROUP, "--name", "bench")["key"]
        server = Server(home, args.workers, tmp / "server.log")
        log(f"ragtune serve on {server.base} ready in {server.startup_s:.1f} s")
        usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = asyncio.run(load_phases(args, server, key, questions, passages))
        returncode = server.stop()
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        out["server"] = {
            "workers": args.workers, "startup_s": round(server.startup_s, 2), "exit_code": returncode,
            "cpu_s": round(usage.ru_utime + usage.ru_stime - usage_before.ru_utime - usage_before.ru_stime, 1),
            "embedder": "real (all-MiniLM-L6-v2)",
            "generator": f"real (SmolLM2-135M-Instruct), max_tokens {args.max_tokens}",
            **corpus,
        }
        server = None
    except BaseException:
        if server is not None:
            log(server.tail())
        raise
    finally:
        if server is not None:
            server.stop()
        if args.keep_home:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    out["clients"], out["duration_s"], out["uploaders"] = args.clients, args.duration, args.uploaders
    out["checks"] = checks_for(out)
    out["all_checks_ok"] = all(c["ok"] for c in out["checks"])
    path = write_result(args.name, args, out, machine)

    rows = [[label, s["requests"], s["errors"], s["requests_per_s"], s["latency_ms"].get("p50", ""),
             s["latency_ms"].get("p95", ""), s["latency_ms"].get("p99", "")]
            for label, s in (("search", out["search"]), ("answer", out["answer"]),
                             ("search during uploads", out["search_with_uploads"]))]
    print(f"ragtune serve, {args.clients} clients, {args.duration:g} s per phase; {machine_line(machine)}\n")
    print(markdown_table(["phase", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms"], rows, digits=1))
    print()
    print(markdown_table(["check", "value", "result"],
                         [[c["check"], c["value"], "met" if c["ok"] else "MISSED"] for c in out["checks"]]))
    log(f"wrote {path}")
    if not out["all_checks_ok"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
