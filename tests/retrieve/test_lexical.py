"""BM25: the vectorized index equals a direct implementation of the formula, and ranks like bm25s."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from ragtune.retrieve.lexical import LexicalIndex, idf
from ragtune.text import analyze

DOCS = [
    "The cat sat on the mat with another cat.",
    "Dogs and cats are common pets in many homes.",
    "The stock market fell sharply on Monday.",
    "A mat is a flat piece of fabric used as a floor covering.",
    "",
]


def reference_bm25(docs: list[list[str]], query: list[str], k1=1.2, b=0.75) -> list[float]:
    n = len(docs)
    avg = sum(len(d) for d in docs) / n
    scores = []
    for d in docs:
        s = 0.0
        for term in set(query):
            df = sum(1 for other in docs if term in other)
            if df == 0:
                continue
            tf = d.count(term)
            idf_t = math.log(1 + (n - df + 0.5) / (df + 0.5))
            s += idf_t * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(d) / avg))
        scores.append(s)
    return scores


def build(docs: list[str]) -> tuple[LexicalIndex, list[list[str]]]:
    terms = [analyze(d) for d in docs]
    return LexicalIndex.build(pa.array(terms, pa.list_(pa.string()))), terms


@pytest.mark.parametrize("query", ["cat mat", "the cats", "market Monday fell", "floor covering fabric", "zebra"])
def test_scores_equal_the_textbook_formula(query):
    index, terms = build(DOCS)
    expected = reference_bm25(terms, analyze(query))
    assert index.scores(analyze(query)) == pytest.approx(np.array(expected, dtype=np.float32), rel=1e-5)


def test_idf_is_positive_even_for_very_common_terms():
    assert (idf(10, np.array([10.0, 9.0, 1.0])) > 0).all()


def test_an_empty_index_and_unknown_terms_score_zero():
    empty = LexicalIndex.build(pa.array([], pa.list_(pa.string())))
    assert empty.scores(["x"]).shape == (0,)
    index, _ = build(DOCS)
    assert not index.scores(["unknownterm"]).any()


def test_ranking_agrees_with_bm25s_on_real_passages(shared_data):
    import json

    bm25s = pytest.importorskip("bm25s")
    passages = [json.loads(line)["text"] for line in (shared_data / "squad_dev_corpus.jsonl").open()][:200]
    questions = [json.loads(line)["question"] for line in (shared_data / "squad_dev_qa.jsonl").open()][:40]
    index, _ = build(passages)
    # The same analyzer feeds both, so any difference is in the scoring itself. Lucene (and bm25s's "lucene"
    # method) drop the constant (k1 + 1) factor of the textbook numerator; rankings are identical.
    peer = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    peer.index([analyze(p) for p in passages], show_progress=False)
    for q in questions:
        unique_terms = list(dict.fromkeys(analyze(q)))
        ours = index.scores(unique_terms)
        theirs = peer.get_scores(unique_terms) * (1.2 + 1)
        assert ours == pytest.approx(theirs, rel=1e-4, abs=1e-4)
