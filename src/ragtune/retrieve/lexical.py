"""Okapi BM25 over an in-memory inverted index that a write updates without rebuilding it.

Scoring follows Robertson & Zaragoza, "The Probabilistic Relevance Framework: BM25 and Beyond" (2009), with
Lucene's non-negative IDF ``ln(1 + (N - df + 0.5) / (df + 0.5))``. The index keeps each posting's term frequency
and each row's length, and computes a query term's weights from them at query time (a few thousand postings at
most, so ~0.1 ms), because every weight depends on N, the term's document frequency and the average length,
which any write changes. That is what lets :meth:`LexicalIndex.advanced` fold in a write by appending a small
segment and updating the counts, instead of re-indexing every chunk: the searcher then reflects one changed
document in a 10,000-document index in milliseconds (issue 15's freshness goal).

Rows of removed chunks stay in place as tombstones: they leave the statistics (N, the document frequencies, the
average length) at once, and the caller masks them out of results. A score is a sum of float32 weights computed
in float64 from the same inputs as a fresh build, so an advanced index scores every live row exactly as an
index built from scratch over the same rows does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ragtune.text import BM25_B as B
from ragtune.text import BM25_K1 as K1

MAX_SEGMENTS = 4  # beyond this the segments added since the last full build are merged into one


def idf(n_docs: int, doc_freq: np.ndarray) -> np.ndarray:
    """Lucene's BM25 IDF: always positive, even for terms in more than half of the documents."""
    return np.log1p((n_docs - doc_freq + 0.5) / (doc_freq + 0.5))


def term_weight(
    tf: np.ndarray, doc_len: np.ndarray, avg_doc_len: float, term_idf: np.ndarray, k1: float = K1, b: float = B
) -> np.ndarray:
    """BM25 contribution of a term occurring ``tf`` times in a document of ``doc_len`` terms."""
    norm = k1 * (1.0 - b + b * doc_len / max(avg_doc_len, 1e-9))
    return term_idf * tf * (k1 + 1.0) / (tf + norm)


def _flat_terms(terms: pa.ListArray | pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """(terms per row, every term occurrence in row order) of a column of term lists."""
    if isinstance(terms, pa.ChunkedArray):
        terms = terms.combine_chunks() if terms.num_chunks else pa.array([], pa.list_(pa.string()))
    lengths = pc.list_value_length(terms).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    return lengths, pc.list_flatten(terms)


@dataclass(frozen=True)
class _Segment:
    """Postings of some rows, grouped by term: term ``term_ids[i]`` occurs in ``rows[indptr[i]:indptr[i+1]]``
    with counts ``tf``; ``term_ids`` is sorted."""

    term_ids: np.ndarray
    indptr: np.ndarray
    rows: np.ndarray
    tf: np.ndarray

    @classmethod
    def from_postings(cls, term_ids: np.ndarray, rows: np.ndarray, tf: np.ndarray) -> "_Segment":
        """Postings given as parallel arrays, each (term, row) at most once, in any order."""
        order = np.lexsort((rows, term_ids))
        return cls.from_sorted(term_ids[order], rows[order], tf[order])

    @classmethod
    def from_sorted(cls, term_ids: np.ndarray, rows: np.ndarray, tf: np.ndarray) -> "_Segment":
        """Postings already sorted by term, then row."""
        starts = np.flatnonzero(np.diff(term_ids, prepend=-1))  # where each term's run begins
        indptr = np.append(starts, len(term_ids)).astype(np.int64)
        return cls(term_ids[starts].astype(np.int64), indptr, rows.astype(np.int32), tf.astype(np.float32))

    def postings(self, term_id: int) -> tuple[np.ndarray, np.ndarray] | None:
        i = int(np.searchsorted(self.term_ids, term_id))
        if i == len(self.term_ids) or self.term_ids[i] != term_id:
            return None
        return self.rows[self.indptr[i]:self.indptr[i + 1]], self.tf[self.indptr[i]:self.indptr[i + 1]]

    def expanded(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return np.repeat(self.term_ids, np.diff(self.indptr)), self.rows, self.tf


@dataclass(frozen=True)
class LexicalIndex:
    """BM25 over ``n_docs`` rows (tombstones included); the statistics count the ``n_live`` live rows only."""

    vocabulary: dict[str, int]
    doc_freq: np.ndarray  # live rows holding each term, by term id
    term_idf: np.ndarray  # idf(n_live, doc_freq), by term id
    lengths: np.ndarray  # terms per row
    segments: tuple[_Segment, ...]
    n_docs: int
    n_live: int
    total_length: int  # terms in the live rows
    k1: float = K1
    b: float = B
    # term id → (rows, float32 weights): a term's postings weighted once per index (per store version), on the
    # first query that uses it, so repeated terms cost what the precomputed weights of a static index cost
    _weighted: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(cls, terms: pa.ListArray | pa.ChunkedArray, k1: float = K1, b: float = B) -> "LexicalIndex":
        """Index a column of term lists (row i = document i) with vectorized Arrow/NumPy operations: the empty
        index with every row appended, so a fresh build and a folded-in write are one computation."""
        empty = np.zeros(0, np.int64)
        nothing = cls({}, empty, np.zeros(0), empty, (), 0, 0, 0, k1, b)
        return nothing.advanced((), pa.array([], pa.list_(pa.string())), terms)

    def advanced(self, removed_rows: Sequence[int], removed_terms: pa.ListArray | pa.ChunkedArray,
                 added_terms: pa.ListArray | pa.ChunkedArray) -> "LexicalIndex":
        """This index after a write: ``removed_rows`` (live rows, whose term lists are ``removed_terms``) become
        tombstones, and the rows of ``added_terms`` are appended after the last row. The statistics are exact."""
        doc_freq = self.doc_freq.copy()
        vocabulary = self.vocabulary
        for row_terms in removed_terms.to_pylist():
            for term in set(row_terms or ()):
                doc_freq[vocabulary[term]] -= 1
        removed_length = int(self.lengths[np.asarray(removed_rows, dtype=np.int64)].sum())
        added_lengths, flat = _flat_terms(added_terms)
        segments = self.segments
        if len(flat):
            encoded = pc.dictionary_encode(flat)
            if isinstance(encoded, pa.ChunkedArray):
                encoded = encoded.combine_chunks()
            vocabulary = dict(vocabulary)  # a snapshot: searches still running on this index keep theirs
            local_to_global = np.fromiter((vocabulary.setdefault(t, len(vocabulary))
                                           for t in encoded.dictionary.to_pylist()), dtype=np.int64)
            term_ids = local_to_global[encoded.indices.to_numpy().astype(np.int64)]
            rows = np.repeat(np.arange(self.n_docs, self.n_docs + len(added_lengths), dtype=np.int64), added_lengths)
            n_rows = self.n_docs + len(added_lengths)
            keys, tf = np.unique(term_ids * n_rows + rows, return_counts=True)  # sorted by term, then row
            post_terms, post_rows = keys // n_rows, keys % n_rows
            doc_freq = np.concatenate([doc_freq, np.zeros(len(vocabulary) - len(doc_freq), np.int64)])
            doc_freq += np.bincount(post_terms, minlength=len(vocabulary))
            segments = _merged(segments + (_Segment.from_sorted(post_terms, post_rows, tf),))
        n_live = self.n_live - len(removed_rows) + len(added_lengths)
        return LexicalIndex(vocabulary, doc_freq, idf(n_live, doc_freq.astype(np.float64)),
                            np.concatenate([self.lengths, added_lengths]), segments,
                            self.n_docs + len(added_lengths), n_live,
                            self.total_length - removed_length + int(added_lengths.sum()), self.k1, self.b)

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every row for the query (each distinct query term counted once; tombstones score too,
        and the caller masks them)."""
        ids = sorted({self.vocabulary[t] for t in query_terms if t in self.vocabulary})
        ids = [i for i in ids if self.doc_freq[i] > 0]
        if not ids or self.n_live == 0:
            return np.zeros(self.n_docs, dtype=np.float32)
        parts = [self._term_postings(term_id) for term_id in ids]
        rows = [r for r, _ in parts if len(r)]
        if not rows:
            return np.zeros(self.n_docs, dtype=np.float32)
        return np.bincount(np.concatenate(rows), weights=np.concatenate([w for _, w in parts if len(w)]),
                           minlength=self.n_docs).astype(np.float32)

    def _term_postings(self, term_id: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows holding the term, and its BM25 weight in each, over every segment (memoized)."""
        found = self._weighted.get(term_id)
        if found is None:
            avg_length = self.total_length / self.n_live
            rows, weights = [], []
            for segment in self.segments:
                postings = segment.postings(term_id)
                if postings is None:
                    continue
                term_rows, tf = postings
                rows.append(term_rows)
                weights.append(term_weight(tf.astype(np.float64), self.lengths[term_rows].astype(np.float64),
                                           avg_length, self.term_idf[term_id], self.k1, self.b).astype(np.float32))
            found = (np.concatenate(rows), np.concatenate(weights)) if rows else (
                np.zeros(0, np.int32), np.zeros(0, np.float32))
            self._weighted[term_id] = found
        return found


def _merged(segments: tuple[_Segment, ...]) -> tuple[_Segment, ...]:
    """At most ``MAX_SEGMENTS``: the segments after the base one are merged (they are small: what changed since
    the last full build), so a query's cost stays bounded however many writes it follows."""
    if len(segments) <= MAX_SEGMENTS:
        return segments
    parts = [segment.expanded() for segment in segments[1:]]
    merged = _Segment.from_postings(*(np.concatenate([p[i] for p in parts]) for i in range(3)))
    return (segments[0], merged)
