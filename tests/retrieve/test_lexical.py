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


def column(term_lists: list[list[str]]) -> pa.ListArray:
    return pa.array(term_lists, pa.list_(pa.string()))


def fresh_scores_by_row(live: list[list[str]], query: list[str]) -> np.ndarray:
    return LexicalIndex.build(column(live)).scores(query)


WORDS = ["river", "bridge", "castle", "norman", "king", "ship", "harbour", "tower", "bridge", "river"]


@pytest.mark.parametrize("seed", range(12))
def test_an_advanced_index_scores_every_live_row_exactly_as_a_fresh_build(seed):
    """Writes fold in as tombstones plus appended segments; the scores of the live rows are bitwise those of an
    index built from scratch over the same rows in the same order (so ties rank alike too)."""
    rng = np.random.default_rng(seed)

    def random_doc() -> list[str]:
        words = WORDS + [f"rare{rng.integers(0, 30)}" for _ in range(3)]
        return [str(w) for w in rng.choice(words, size=int(rng.integers(0, 12)))]

    rows = [random_doc() for _ in range(20)]
    dead: set[int] = set()
    index = LexicalIndex.build(column(rows))
    for _ in range(7):  # more writes than MAX_SEGMENTS, so segments get merged on the way
        live_rows = [i for i in range(len(rows)) if i not in dead]
        removed = sorted(rng.choice(live_rows, size=min(len(live_rows), int(rng.integers(0, 4))), replace=False))
        added = [random_doc() for _ in range(int(rng.integers(0, 4)))]
        index = index.advanced(removed, column([rows[i] for i in removed]), column(added))
        dead.update(int(i) for i in removed)
        rows += added
        live = [i for i in range(len(rows)) if i not in dead]
        for query in (["river", "bridge"], ["rare3", "king", "nothere"], ["harbour"], [f"rare{seed}"]):
            expected = fresh_scores_by_row([rows[i] for i in live], query)
            got = index.scores(query)
            assert got.shape == (len(rows),)
            assert np.array_equal(got[live], expected), (query, live)
    assert len(index.segments) <= 4


def test_a_removed_rows_terms_leave_the_statistics_at_once():
    index = LexicalIndex.build(column([["apple"], ["apple", "pear"], ["pear"]]))
    after = index.advanced([0], column([["apple"]]), column([]))
    assert after.n_live == 2 and after.total_length == 3
    assert after.doc_freq[after.vocabulary["apple"]] == 1
    np.testing.assert_array_equal(after.scores(["apple"])[1:],
                                  LexicalIndex.build(column([["apple", "pear"], ["pear"]])).scores(["apple"]))
