"""``ragtune eval retrieval``: ingest a corpus into a fresh index, then score bm25, dense and hybrid on a QA set.

Chunk hits are collapsed to documents at their best rank before scoring, since gold labels name documents.
Latency is the wall time of one ``search`` call, query embedding included.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Protocol, Sequence

from ragtune.errors import InputError
from ragtune.evaluate.datasets import read_qa
from ragtune.evaluate.metrics import dedupe, ndcg_at_k, percentile, recall_at_k, reciprocal_rank
from ragtune.ingest.pipeline import IngestReport
from ragtune.retrieve.searcher import SearchResult
from ragtune.store.base import Store
from ragtune.types import SEARCH_MODES, SearchMode

DEPTH = 100  # chunk hits fetched per query; MRR is computed over this list


@dataclass(frozen=True)
class ModeScores:
    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    mrr: float
    ndcg_at_10: float
    p50_ms: float
    p95_ms: float

    def to_json(self) -> dict:
        return {
            "recall@1": round(self.recall_at_1, 4), "recall@5": round(self.recall_at_5, 4),
            "recall@10": round(self.recall_at_10, 4), "mrr": round(self.mrr, 4),
            "ndcg@10": round(self.ndcg_at_10, 4), "p50_ms": round(self.p50_ms, 2), "p95_ms": round(self.p95_ms, 2),
        }


@dataclass(frozen=True)
class RetrievalEval:
    corpus: str
    qa: str
    questions: int
    evaluated: int
    skipped_no_gold: int
    documents: int
    chunks: int
    ingest_seconds: float
    modes: dict[str, ModeScores] = field(default_factory=dict)
    per_question: dict[str, dict[str, float]] = field(default_factory=dict)  # mode -> qid -> nDCG@10

    def to_json(self) -> dict:
        return {
            "corpus": self.corpus, "qa": self.qa, "questions": self.questions, "evaluated": self.evaluated,
            "skipped_no_gold": self.skipped_no_gold, "documents": self.documents, "chunks": self.chunks,
            "ingest_seconds": round(self.ingest_seconds, 2),
            "modes": {mode: scores.to_json() for mode, scores in self.modes.items()},
        }


class SearchableIndex(Protocol):
    """What scoring needs of an index (``ragtune.components.documents.DocumentIndex`` is one)."""

    store: Store

    def ingest(self, paths: Sequence[Path], *, on_progress=None) -> IngestReport: ...

    def search(self, query: str, *, mode: SearchMode = "hybrid", k: int = 10) -> SearchResult: ...

    def resolve_ids(self, doc_ids: Iterable[str]) -> dict[str, str]: ...


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def evaluate_retrieval(
    index: SearchableIndex,
    corpus: Path,
    qa: Path,
    *,
    modes: Sequence[SearchMode] = SEARCH_MODES,
    on_ingest_progress=None,
    on_query: Callable[[int, int], None] | None = None,
) -> RetrievalEval:
    """Ingest ``corpus`` into ``index`` (which should start empty), then score each mode on every QA item that
    names gold documents; items without gold ids are counted, not scored."""
    items = read_qa(qa)
    if not corpus.exists():
        raise InputError(f"{corpus}: no such corpus file or folder")
    scored = [item for item in items if item.gold_doc_ids]
    if not scored:
        raise InputError(f"{qa}: no item has 'gold_doc_ids', so retrieval cannot be scored")
    report = index.ingest([corpus], on_progress=on_ingest_progress)
    if report.failed and not (report.added or report.unchanged):
        raise InputError(f"{corpus}: {report.failed[0].reason}")
    documents, chunks = index.store.counts()
    resolved = index.resolve_ids({d for item in scored for d in item.gold_doc_ids})
    index.search(scored[0].question, mode="hybrid", k=1)  # load models and the in-memory index up front
    results: dict[str, ModeScores] = {}
    per_question: dict[str, dict[str, float]] = {}
    total = len(scored) * len(modes)
    for m, mode in enumerate(modes):
        r1, r5, r10, rr, nd, lat = [], [], [], [], [], []
        per_question[mode] = {}
        for i, item in enumerate(scored):
            t = time.perf_counter()
            hits = index.search(item.question, mode=mode, k=DEPTH).hits
            lat.append((time.perf_counter() - t) * 1000)
            ranked = dedupe([h.chunk.doc_id for h in hits])
            gold = {resolved[d] for d in item.gold_doc_ids}
            r1.append(recall_at_k(ranked, gold, 1))
            r5.append(recall_at_k(ranked, gold, 5))
            r10.append(recall_at_k(ranked, gold, 10))
            rr.append(reciprocal_rank(ranked, gold))
            nd.append(ndcg_at_k(ranked, gold, 10))
            per_question[mode][item.item_id] = nd[-1]
            if on_query:
                on_query(m * len(scored) + i + 1, total)
        results[mode] = ModeScores(_mean(r1), _mean(r5), _mean(r10), _mean(rr), _mean(nd),
                                   percentile(lat, 50), percentile(lat, 95))
    return RetrievalEval(
        corpus=str(corpus), qa=str(qa), questions=len(items), evaluated=len(scored),
        skipped_no_gold=len(items) - len(scored), documents=documents, chunks=chunks,
        ingest_seconds=report.seconds, modes=results, per_question=per_question,
    )
