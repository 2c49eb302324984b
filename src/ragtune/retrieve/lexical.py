"""Okapi BM25 over an in-memory inverted index.

Scoring follows Robertson & Zaragoza, "The Probabilistic Relevance Framework: BM25 and Beyond" (2009), with
Lucene's non-negative IDF ``ln(1 + (N - df + 0.5) / (df + 0.5))``. As in bm25s (Lù 2024), every (term, chunk)
weight is computed once when the index is built, so a query is a sum of posting lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ragtune.text import BM25_B as B
from ragtune.text import BM25_K1 as K1


def idf(n_docs: int, doc_freq: np.ndarray) -> np.ndarray:
    """Lucene's BM25 IDF: always positive, even for terms in more than half of the documents."""
    return np.log1p((n_docs - doc_freq + 0.5) / (doc_freq + 0.5))


def term_weight(
    tf: np.ndarray, doc_len: np.ndarray, avg_doc_len: float, term_idf: np.ndarray, k1: float = K1, b: float = B
) -> np.ndarray:
    """BM25 contribution of a term occurring ``tf`` times in a document of ``doc_len`` terms."""
    norm = k1 * (1.0 - b + b * doc_len / max(avg_doc_len, 1e-9))
    return term_idf * tf * (k1 + 1.0) / (tf + norm)


@dataclass(frozen=True)
class LexicalIndex:
    """Posting lists grouped by term: rows ``doc_ids[indptr[t]:indptr[t+1]]`` hold term ``t`` with ``weights``."""

    vocabulary: dict[str, int]
    indptr: np.ndarray
    doc_ids: np.ndarray
    weights: np.ndarray
    n_docs: int

    @classmethod
    def build(cls, terms: pa.ListArray | pa.ChunkedArray, k1: float = K1, b: float = B) -> "LexicalIndex":
        """Index a column of term lists (row i = document i) with vectorized Arrow/NumPy operations."""
        if isinstance(terms, pa.ChunkedArray):
            terms = terms.combine_chunks() if terms.num_chunks else pa.array([], pa.list_(pa.string()))
        n_docs = len(terms)
        lengths = pc.list_value_length(terms).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        flat = pc.list_flatten(terms)
        if len(flat) == 0:
            return cls({}, np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32), n_docs)
        encoded = pc.dictionary_encode(flat).combine_chunks() if isinstance(flat, pa.ChunkedArray) else (
            pc.dictionary_encode(flat)
        )
        term_ids = encoded.indices.to_numpy().astype(np.int64)
        vocab_terms = encoded.dictionary.to_pylist()
        rows = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
        keys, tf = np.unique(term_ids * n_docs + rows, return_counts=True)  # sorted by term, then row
        post_terms, post_rows = keys // n_docs, keys % n_docs
        doc_freq = np.bincount(post_terms, minlength=len(vocab_terms))
        weights = term_weight(
            tf.astype(np.float64), lengths[post_rows].astype(np.float64), float(lengths.mean()),
            idf(n_docs, doc_freq.astype(np.float64))[post_terms], k1, b,
        )
        indptr = np.concatenate([[0], np.cumsum(doc_freq)]).astype(np.int64)
        vocabulary = {term: i for i, term in enumerate(vocab_terms)}
        return cls(vocabulary, indptr, post_rows.astype(np.int32), weights.astype(np.float32), n_docs)

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every document for the query (each distinct query term counted once)."""
        ids = sorted({self.vocabulary[t] for t in query_terms if t in self.vocabulary})
        if not ids:
            return np.zeros(self.n_docs, dtype=np.float32)
        spans = [np.arange(self.indptr[t], self.indptr[t + 1]) for t in ids]
        positions = np.concatenate(spans)
        return np.bincount(self.doc_ids[positions], weights=self.weights[positions], minlength=self.n_docs).astype(
            np.float32
        )
