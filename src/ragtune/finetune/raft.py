"""RAFT training data: teach a model to answer from retrieved context (Zhang et al., 2024, "RAFT: Adapting
Language Model to Domain Specific RAG").

For each QA item the prompt is exactly the one ``ask`` sends (:func:`grounded_messages`) over a shuffled set of
sources: the *oracle* chunk (the gold document's chunk that holds the answer) plus *distractors* — the top
retrieved chunks from other documents, so they look relevant but are not. In a share of examples the oracle is
left out and the answer is the abstention text: the model learns both to use the right source (and cite it) and
to say so when no source holds the answer. Unanswerable items always get the abstention text.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from ragtune.evaluate.answer_metrics import normalize_answer
from ragtune.evaluate.datasets import QAItem
from ragtune.files import write_atomic
from ragtune.generate.prompts import ABSTAIN_TEXT, grounded_messages
from ragtune.retrieve.searcher import Searcher
from ragtune.types import Chunk

ORACLE_SHARE = 0.8  # the RAFT paper's P: the oracle is in the prompt for 80% of examples
DISTRACTORS = 3


@dataclass
class RaftStats:
    written: int = 0
    with_oracle: int = 0
    without_oracle: int = 0
    unanswerable: int = 0
    skipped: Counter = field(default_factory=Counter)

    def to_json(self) -> dict:
        return {"written": self.written, "with_oracle": self.with_oracle, "without_oracle": self.without_oracle,
                "unanswerable": self.unanswerable, "skipped": dict(self.skipped)}


def oracle_chunk(chunks: Sequence[Chunk], answers: Sequence[str]) -> Chunk | None:
    """The first chunk of the gold documents whose text holds a gold answer (SQuAD-normalized, so tokenization
    and case differences do not hide it)."""
    wanted = [f" {normalize_answer(a)} " for a in answers if normalize_answer(a)]
    for chunk in chunks:
        text = f" {normalize_answer(chunk.text)} "
        if any(w in text for w in wanted):
            return chunk
    # Space-tokenized sources ("1 , 000") hide answers ("1,000") from word matching; only gold documents'
    # chunks are searched, so a whitespace-free match is specific enough here.
    squeezed = [w.replace(" ", "") for w in wanted]
    for chunk in chunks:
        text = normalize_answer(chunk.text).replace(" ", "")
        if any(w in text for w in squeezed):
            return chunk
    return None


def raft_examples(
    items: Sequence[QAItem],
    *,
    searcher: Searcher,
    doc_chunks: Callable[[str], list[Chunk]],
    distractors: int = DISTRACTORS,
    oracle_share: float = ORACLE_SHARE,
    seed: int = 0,
) -> tuple[list[dict], RaftStats]:
    """Chat training rows (``{"id", "messages", "oracle", "source_item"}``) and what was built or skipped."""
    stats = RaftStats()
    rows: list[dict] = []
    for item in items:
        if not item.gold_doc_ids:
            stats.skipped["no_gold_doc_ids"] += 1
            continue
        gold = set(item.gold_doc_ids)
        rng = random.Random(f"{seed}:{item.item_id}")
        hits = searcher.search(item.question, k=distractors + 20).hits
        others = [h.chunk for h in hits if h.chunk.doc_id not in gold][:distractors]
        if not others:
            stats.skipped["no_distractors"] += 1
            continue
        gold_chunks = [c for d in item.gold_doc_ids for c in doc_chunks(d)]
        if item.answerable and item.answers:
            oracle = oracle_chunk(gold_chunks, item.answers)
            if oracle is None:
                stats.skipped["answer_not_in_gold_docs"] += 1
                continue
            keep = rng.random() < oracle_share
        else:  # the gold passage is on topic but does not hold the answer: a realistic "not in the documents"
            oracle = gold_chunks[0] if gold_chunks else None
            keep = oracle is not None
        sources = others + ([oracle] if keep and oracle is not None else [])
        rng.shuffle(sources)
        if item.answerable and item.answers and keep:
            reply = f"{item.answers[0]} [{sources.index(oracle) + 1}]"
            stats.with_oracle += 1
        else:
            reply = ABSTAIN_TEXT
            if item.answerable:
                stats.without_oracle += 1
            else:
                stats.unanswerable += 1
        messages = grounded_messages(item.question, sources) + [{"role": "assistant", "content": reply}]
        rows.append({"id": f"raft-{item.item_id}", "messages": messages, "oracle": bool(keep and item.answerable),
                     "source_item": item.item_id})
    stats.written = len(rows)
    return rows, stats


def chunks_by_doc(store) -> dict[str, list[Chunk]]:
    from ragtune.store.base import RESULT_COLUMNS, chunk_from_row

    by_doc: dict[str, list[Chunk]] = {}
    for row in store.chunk_columns().select(list(RESULT_COLUMNS)).to_pylist():
        chunk = chunk_from_row(row)
        by_doc.setdefault(chunk.doc_id, []).append(chunk)
    for chunks in by_doc.values():
        chunks.sort(key=lambda c: c.ordinal)
    return by_doc


def write_jsonl(rows: Sequence[dict], path: Path) -> None:
    write_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
