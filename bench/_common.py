"""Helpers shared by the benchmark scripts: machine info, timing, markdown tables, JSON results, test data.

Every script in ``bench/`` prints a markdown table on stdout and writes ``bench/results/<name>.json`` holding
the arguments, the machine it ran on and the measured numbers, so a result can be traced back to its run.
"""

from __future__ import annotations

import json
import os
import platform
import random
import re
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Sequence

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

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


def machine_info() -> dict:
    import torch

    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.is_available(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "lancedb": _version("lancedb"),
        "numpy": np.__version__,
        "sentence_transformers": _version("sentence-transformers"),
        "bm25s": _version("bm25s"),
        "ragtune": _version("ragtune"),
        "loadavg_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }


def machine_line(info: dict) -> str:
    return (
        f"{info['cpu']}, {info['cores']} cores, {'GPU' if info['gpu'] else 'no GPU'}; "
        f"Python {info['python']}, torch {info['torch']}, lancedb {info['lancedb']}"
    )


# ---- timing and statistics ---------------------------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, the same definition ragtune's evaluation uses."""
    from ragtune.evaluate.metrics import percentile

    return percentile(list(values), q)


# ---- output ------------------------------------------------------------------------------------------------


def fmt(value, digits: int = 3) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence], digits: int = 3) -> str:
    cells = [[fmt(v, digits) for v in row] for row in rows]
    widths = [
        max(len(str(h)), *(len(r[i]) for r in cells)) if cells else len(str(h)) for i, h in enumerate(headers)
    ]
    numeric = [
        all(re.fullmatch(r"[-+]?[\d.,]+( ?[x%s]|ms)?", r[i]) for r in cells) and bool(cells)
        for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        return (
            "| "
            + " | ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric))
            + " |"
        )

    rule = (
        "|"
        + "|".join(("-" * (w + 1) + ":") if num else ("-" * (w + 2)) for w, num in zip(widths, numeric))
        + "|"
    )
    return "\n".join([line([str(h) for h in headers]), rule, *(line(r) for r in cells)])


def check_mark(ok: bool) -> str:
    return "met" if ok else "MISSED"


def src_fingerprint() -> dict:
    """Which ragtune source was measured: a digest of ``src/ragtune/**/*.py`` and its newest modification time
    (the tree has no commits to point at, and it changes while benchmarks run)."""
    import hashlib

    files = sorted((ROOT / "src" / "ragtune").rglob("*.py"))
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    newest = max((path.stat().st_mtime for path in files), default=0.0)
    return {
        "sha256": digest.hexdigest()[:16],
        "files": len(files),
        "newest_mtime": datetime.fromtimestamp(newest, timezone.utc).isoformat(timespec="seconds"),
    }


SRC_AT_START = src_fingerprint()  # taken when a script imports this module, i.e. before ragtune is imported


def write_result(name: str, args, results: dict, machine: dict | None = None) -> Path:
    """Write ``bench/results/<name>.json`` (atomically) and return its path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": name,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": machine or machine_info(),
        "ragtune_src": SRC_AT_START,
        "ragtune_src_changed_during_run": src_fingerprint()["sha256"] != SRC_AT_START["sha256"],
        # other processes on a 2-core machine skew timings, so the load at the end of the run is kept too
        "loadavg_at_end_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "results": results,
    }
    path = RESULTS_DIR / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=float) + "\n")
    tmp.replace(path)
    return path


def log(message: str) -> None:
    """Progress goes to stderr so stdout holds only the markdown result."""
    print(message, file=sys.stderr, flush=True)


# ---- data --------------------------------------------------------------------------------------------------


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_embedder_warm():
    """The default embedder, loaded and warmed up, with lancedb imported too: one-time process costs (model
    load, ~1 s of imports) never count in a measurement."""
    import lancedb  # noqa: F401 — ragtune imports it lazily on first store access

    from ragtune.models.embedder import load_embedder

    embedder = load_embedder()
    embedder.embed(["warm up the model", "a second, slightly longer text to warm up the batch path"])
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
