"""Query-time retrieval: BM25, dense and hybrid (RRF) over the store, with filters and a score breakdown.

Below ``exact_max_chunks`` chunks the search is exact and in memory: the chunk table (vectors, BM25 terms) is
loaded once, every query is a dot product plus a sum of BM25 posting lists, and after a write the next query
loads only the chunks added since and turns the removed ones into tombstones (``_ExactState.advanced``), so a
change is searchable in milliseconds whatever the size of the index, ranked exactly as a full load ranks it. Measured here,
LanceDB's own full-text and flat vector searches cost ~4 ms and ~3.5 ms a query on a 421-passage corpus against
~0.5 ms for both in memory, on top of ~11 ms to embed the query (bench/latency.py measures all three). Above the limit the
store's ANN and full-text indexes answer instead, so memory stays bounded on large corpora.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pyarrow as pa

from ragtune.config import RetrievalConfig
from ragtune.errors import InputError
from ragtune.models.embedder import Embedder
from ragtune.retrieve.fusion import reciprocal_rank_fusion, zscore_fusion
from ragtune.retrieve.lexical import LexicalIndex
from ragtune.retrieve.ranking import cosine_scores, top_k
from ragtune.store.base import RESULT_COLUMNS, Store, chunk_from_row
from ragtune.text import analyze
from ragtune.types import SEARCH_MODES, Chunk, Filters, Hit, SearchMode


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    mode: SearchMode
    store_version: int
    timings_ms: Mapping[str, float] = field(default_factory=dict)


def validate_query(query: str, mode: str, k: int) -> str:
    text = (query or "").strip()
    if not text:
        raise InputError("query is empty: give the words to search for")
    if mode not in SEARCH_MODES:
        raise InputError(f"mode {mode!r}: expected one of {', '.join(SEARCH_MODES)}")
    if k < 1:
        raise InputError(f"k={k}: must be at least 1")
    return text


def _vector_matrix(table: pa.Table, dim: int) -> np.ndarray:
    n = table.num_rows
    vectors = table["vector"].combine_chunks().flatten().to_numpy() if n else np.zeros(0, np.float32)
    return np.ascontiguousarray(vectors.reshape(n, dim), dtype=np.float32)


def _paths(table: pa.Table) -> np.ndarray:
    return np.array(table["source_path"].to_pylist(), dtype=str)


def _concat_columns(first: pa.ChunkedArray, second: pa.ChunkedArray) -> pa.ChunkedArray:
    return pa.chunked_array(first.chunks + second.chunks, type=first.type)


def _take(data: pa.Table | pa.ChunkedArray, rows: Sequence[int]) -> pa.Table | pa.Array:
    """``data.take(rows)``, taking from each chunk on its own. Arrow's own take first copies a chunked input
    into one contiguous array: on a 10,000-document index that copy of the text column cost 75-160 ms on the
    first searches after start and after each write (whose rows are one more chunk)."""
    parts = data.to_batches() if isinstance(data, pa.Table) else data.chunks
    index = np.asarray(rows, dtype=np.int64)
    if len(parts) == 1:
        return parts[0].take(pa.array(index))
    if not len(index):
        return data.schema.empty_table() if isinstance(data, pa.Table) else pa.array([], data.type)
    sizes = np.array([len(part) for part in parts], dtype=np.int64)
    ends = np.cumsum(sizes)
    part_of = np.searchsorted(ends, index, side="right")
    starts = ends - sizes
    pieces = [parts[p].take(pa.array(index[part_of == p] - starts[p])) for p in np.unique(part_of)]
    # the pieces hold the rows grouped by chunk; put them back in the order asked for
    position = np.empty(len(index), dtype=np.int64)
    position[np.argsort(part_of, kind="stable")] = np.arange(len(index))
    if isinstance(data, pa.Table):
        return pa.Table.from_batches(pieces, schema=data.schema).combine_chunks().take(pa.array(position))
    return pa.concat_arrays(pieces).take(pa.array(position))


# Spare rows of a fresh array for the writes to come: an eighth of its rows, and at least this many.
SPARE_MIN_ROWS = 256


class _GrowingRows:
    """An array that the states after a write extend in place: a buffer with spare rows at its end. A state
    views its first ``n`` rows; the first state to extend those ``n`` rows writes into the spare rows, so a
    write of a few chunks copies a few rows, not every vector (on a 10,000-document index that copy cost
    95-230 ms on the first writes after start: fresh memory), and a state still in use keeps seeing exactly
    its own rows."""

    def __init__(self, head: np.ndarray, tail: np.ndarray | None = None) -> None:
        tail = head[:0] if tail is None else tail
        n = len(head) + len(tail)
        self._data = np.empty((n + max(SPARE_MIN_ROWS, n // 8), *head.shape[1:]), np.result_type(head, tail))
        self._data[:len(head)] = head
        self._data[len(head):n] = tail
        self._used = n
        self._lock = threading.Lock()

    def first(self, n: int) -> np.ndarray:
        return self._data[:n]

    def extended(self, n: int, rows: np.ndarray) -> "_GrowingRows":
        """Rows ``[:n]`` of this array followed by ``rows``: this array when no state extended its ``n`` rows
        yet and the spare rows suffice (and fit ``rows``' dtype: a longer path widens a string array), else a
        new, larger buffer."""
        with self._lock:
            if (self._used == n and n + len(rows) <= len(self._data)
                    and np.can_cast(rows.dtype, self._data.dtype, casting="safe")):
                self._data[n:n + len(rows)] = rows
                self._used = n + len(rows)
                return self
        return _GrowingRows(self._data[:n], rows)


# Taking a search's few uncached rows from Arrow costs ~0.4 ms, most of it per call (SQuAD dev, 523 chunks: a
# third of a hybrid search's time outside the query embedding), while building every row costs ~4 us a row. Up to
# this many rows, the first miss builds them all (at most ~8 ms once, what some twenty searches' takes cost);
# beyond, a bulk build would stall the first search after a load for longer than the takes it saves.
BULK_CHUNK_ROWS = 2048


class _ExactState:
    """Everything exact search needs, loaded from one store version: either from the whole chunk table, or from
    the state of an earlier version plus what changed since (:meth:`advanced`). Rows never move: a removed
    chunk's row stays as a tombstone (``dead``), masked out of every result, until the next full load."""

    def __init__(self, *, results: pa.Table, chunk_ids: list[str], row_of: dict[str, int],
                 vectors: _GrowingRows, terms: pa.ChunkedArray, lexical: LexicalIndex,
                 source_paths: _GrowingRows, meta_kv: pa.ChunkedArray, groups: pa.ChunkedArray,
                 doc_ids: list[str], dead: np.ndarray, chunk_cache: dict[int, Chunk],
                 live_docs: set[str]) -> None:
        self.results = results
        self.n = results.num_rows
        self.chunk_ids = chunk_ids
        self.row_of = row_of  # live rows only
        self._vector_rows = vectors
        self.vectors = vectors.first(self.n)
        self.terms = terms
        self.lexical = lexical
        self._path_rows = source_paths
        self.source_paths = source_paths.first(self.n)
        self._meta_kv = meta_kv
        self._groups = groups
        self._doc_ids = doc_ids
        self.dead = dead
        self._chunk_cache = chunk_cache
        self._group_rows: tuple[np.ndarray, dict[str, np.ndarray]] | None = None
        self._meta_sets: list[set[str]] | None = None
        self.live: np.ndarray | None = None
        self.set_live(live_docs)

    @classmethod
    def loaded(cls, table: pa.Table, dim: int, live_docs: set[str]) -> "_ExactState":
        """The state of the whole chunk table ``table``."""
        chunk_ids = table["chunk_id"].to_pylist()
        return cls(results=table.select(list(RESULT_COLUMNS)), chunk_ids=chunk_ids,
                   row_of={cid: i for i, cid in enumerate(chunk_ids)},
                   vectors=_GrowingRows(_vector_matrix(table, dim)), terms=table["terms"],
                   lexical=LexicalIndex.build(table["terms"]),
                   source_paths=_GrowingRows(_paths(table)), meta_kv=table["meta_kv"],
                   groups=table["groups"], doc_ids=table["doc_id"].to_pylist(), dead=np.zeros(table.num_rows, bool),
                   chunk_cache={}, live_docs=live_docs)

    def advanced(self, removed: Sequence[str], added: pa.Table, dim: int, live_docs: set[str]) -> "_ExactState":
        """The state after a write that removed the chunks ``removed`` and appended ``added`` (in store order).
        Costs what changed plus copies of the per-row arrays, not a re-read and re-index of every chunk."""
        rows = np.array([self.row_of[cid] for cid in removed], dtype=np.int64)
        row_of = dict(self.row_of)
        for cid in removed:
            del row_of[cid]
        new_ids = added["chunk_id"].to_pylist()
        row_of.update((cid, self.n + i) for i, cid in enumerate(new_ids))
        dead = np.concatenate([self.dead, np.zeros(added.num_rows, dtype=bool)])
        dead[rows] = True
        return _ExactState(
            results=pa.concat_tables([self.results, added.select(list(RESULT_COLUMNS))]),
            chunk_ids=self.chunk_ids + new_ids, row_of=row_of,
            vectors=self._vector_rows.extended(self.n, _vector_matrix(added, dim)),
            terms=_concat_columns(self.terms, added["terms"]),
            lexical=self.lexical.advanced(rows, _take(self.terms, rows), added["terms"]),
            source_paths=self._path_rows.extended(self.n, _paths(added)),
            meta_kv=_concat_columns(self._meta_kv, added["meta_kv"]),
            groups=_concat_columns(self._groups, added["groups"]),
            doc_ids=self._doc_ids + added["doc_id"].to_pylist(), dead=dead,
            chunk_cache={i: c for i, c in self._chunk_cache.items() if not dead[i]}, live_docs=live_docs)

    def set_live(self, live_docs: set[str]) -> None:
        """Chunks whose document row is missing (a write between its two commits, or cut short) are never
        results, nor are tombstones; ``live`` is None when every row is live."""
        self.live_docs = live_docs
        documented = np.fromiter((d in live_docs for d in self._doc_ids), dtype=bool, count=self.n)
        self.hidden = not (documented | self.dead).all()  # some chunk waits for its document row
        live = documented & ~self.dead
        self.live = None if live.all() else live

    def mask(self, filters: Filters) -> np.ndarray | None:
        if filters.empty:
            return self.live
        if filters.metadata and self._meta_sets is None:
            self._meta_sets = [set(kv or ()) for kv in self._meta_kv.to_pylist()]
        keep = filters.mask(self.source_paths, self._meta_sets or [])
        if filters.groups is not None:
            keep &= self._visible_rows(filters.groups)
        return keep if self.live is None else keep & self.live

    def _visible_rows(self, groups: frozenset[str]) -> np.ndarray:
        """Rows visible to a caller holding ``groups`` (the rule of :func:`ragtune.types.visible_to`): rows with
        no groups, plus the rows of each group held. Built once per store version as one row list per group,
        so a query costs a copy and one scatter per group the caller holds."""
        if self._group_rows is None:
            lists = self._groups.to_pylist()
            open_rows = np.fromiter((not g for g in lists), dtype=bool, count=self.n)
            rows: dict[str, list[int]] = {}
            for i, held in enumerate(lists):
                for name in held or ():
                    rows.setdefault(name, []).append(i)
            self._group_rows = (open_rows, {g: np.array(r, dtype=np.int64) for g, r in rows.items()})
        open_rows, by_group = self._group_rows
        keep = open_rows.copy()
        for group in groups:
            if group in by_group:
                keep[by_group[group]] = True
        return keep

    def doc_id(self, chunk_id: str) -> str:
        return self._doc_ids[self.row_of[chunk_id]]

    def chunks(self, indices: list[int]) -> list[Chunk]:
        """Chunks by row, built from Arrow once and then served from a cache the states after a write inherit.
        A state of at most :data:`BULK_CHUNK_ROWS` rows builds all of them at its first miss; a bigger one
        builds the rows asked for."""
        missing = [i for i in indices if i not in self._chunk_cache]
        if missing and self.n <= BULK_CHUNK_ROWS:
            for i, row in enumerate(self.results.to_pylist()):
                if i not in self._chunk_cache:
                    self._chunk_cache[i] = chunk_from_row(row)
        elif missing:
            for i, row in zip(missing, _take(self.results, missing).to_pylist()):
                self._chunk_cache[i] = chunk_from_row(row)
        return [self._chunk_cache[i] for i in indices]


# A write that changes at most this many rows, or a quarter of the index, is folded into the held state; more,
# and the next search loads the whole table again (which also drops the tombstones).
ADVANCE_MIN_ROWS = 64


class Searcher:
    """Runs searches against a store; safe to share between threads."""

    def __init__(self, store: Store, embedder: Embedder, config: RetrievalConfig) -> None:
        self.store = store
        self.embedder = embedder
        self.config = config
        self._state: tuple[int, _ExactState] | None = None
        self._native: tuple[int, bool] | None = None
        self._live: tuple[int, set[str], float] | None = None  # version, live document ids, when read
        self._version: tuple[int, float] | None = None
        self._lock = threading.Lock()

    def _current_version(self) -> int:
        """The store version, asked of the store at most every ``refresh_seconds`` (writes made through this
        process call :meth:`invalidate`, so they are seen at once; other processes' within the interval)."""
        now = time.monotonic()
        if self._version is None or now - self._version[1] >= self.config.refresh_seconds:
            self._version = (self.store.version(), now)
        return self._version[0]

    def invalidate(self) -> None:
        self._version = None
        self._live = None

    def _uses_native_indexes(self, version: int) -> bool:
        """Asked of the store once per table version (listing indexes costs as much as a whole exact search)."""
        if self._native is None or self._native[0] != version:
            self._native = (version, self.store.uses_native_indexes())
        return self._native[1]

    def _exact_state(self, version: int) -> _ExactState:
        with self._lock:
            if self._state is None or self._state[0] != version:
                state = self._advanced_state(version) if self._state is not None else None
                if state is None:
                    # chunks first, then the live documents: a document committed in between is simply live
                    table = self.store.chunk_columns()
                    state = _ExactState.loaded(table, self.embedder.dim, self._live_docs(version))
                self._state = (version, state)
            elif self._state[1].hidden:
                self._state[1].set_live(self._live_docs(version, hidden=True))
            return self._state[1]

    def _advanced_state(self, version: int) -> _ExactState | None:
        """The state of ``version`` from the one held, loading only the chunks added since; None when a full
        load is due: the store's order is not the held order plus the new chunks at the end (a full load would
        rank ties differently), or tombstones or new rows would pass a quarter of the rows."""
        old = self._state[1]
        ids = self.store.chunk_ids()
        current = set(ids)
        kept = [cid for cid in old.chunk_ids if cid in old.row_of and cid in current]
        removed = [cid for cid in old.row_of if cid not in current]
        added = ids[len(kept):]
        limit = max(ADVANCE_MIN_ROWS, old.n // 4)
        if (ids[:len(kept)] != kept or int(old.dead.sum()) + len(removed) > limit or len(added) > limit
                or any(cid in old.row_of for cid in added)):
            return None
        if not removed and not added:
            return old
        table = self.store.chunk_columns(added)
        if table.num_rows != len(added):  # another write landed between the two reads
            return None
        position = {cid: i for i, cid in enumerate(table["chunk_id"].to_pylist())}
        table = table.take(pa.array([position[cid] for cid in added], pa.int64()))
        changed = {old.doc_id(cid) for cid in removed} | set(table["doc_id"].to_pylist())
        live = self._live_docs_after(old.live_docs, changed, version)
        return old.advanced(removed, table, self.embedder.dim, live)

    def search(self, query: str, mode: SearchMode = "hybrid", k: int = 10, filters: Filters | None = None) -> SearchResult:
        text = validate_query(query, mode, k)
        filters = filters or Filters()
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        version = self._current_version()
        native = self._uses_native_indexes(version)
        state = None if native else self._exact_state(version)
        timings["load_ms"] = (time.perf_counter() - t0) * 1000
        depth = max(self.config.candidates, k)
        lists: dict[str, list[tuple[str, float]]] = {}
        all_scores: dict[str, np.ndarray] = {}
        mask = state.mask(filters) if state is not None else None

        if mode in ("bm25", "hybrid"):
            t = time.perf_counter()
            if state is not None:
                scores = state.lexical.scores(analyze(text))
                rows = top_k(scores, depth, mask, positive_only=True)
                lists["bm25"] = [(state.chunk_ids[r], float(scores[r])) for r in rows]
                all_scores["bm25"] = scores
            else:
                lists["bm25"] = [(s.chunk_id, s.score) for s in self.store.search_lexical(text, depth, filters)]
            timings["bm25_ms"] = (time.perf_counter() - t) * 1000
        if mode in ("dense", "hybrid"):
            t = time.perf_counter()
            vector = self.embedder.embed([text])[0]
            timings["embed_ms"] = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            if state is not None:
                scores = cosine_scores(state.vectors, vector)
                rows = top_k(scores, depth, mask)
                lists["dense"] = [(state.chunk_ids[r], float(scores[r])) for r in rows]
                all_scores["dense"] = scores
            else:
                lists["dense"] = [(s.chunk_id, s.score) for s in self.store.search_dense(vector, depth, filters)]
            timings["dense_ms"] = (time.perf_counter() - t) * 1000

        t = time.perf_counter()
        ranked = self._rank(mode, lists, k)
        hits = self._hydrate(ranked, lists, all_scores, state, version)
        timings["fuse_ms"] = (time.perf_counter() - t) * 1000
        timings["total_ms"] = (time.perf_counter() - t0) * 1000
        return SearchResult(hits, mode, version, timings)

    def _rank(self, mode: str, lists: dict[str, list[tuple[str, float]]], k: int) -> list[tuple[str, float, dict]]:
        if mode != "hybrid":
            return [(cid, score, {mode: rank}) for rank, (cid, score) in enumerate(lists[mode][:k], start=1)]
        if self.config.fusion == "rrf":
            fused = reciprocal_rank_fusion({name: [cid for cid, _ in items] for name, items in lists.items()},
                                           self.config.rrf_k, limit=k)
        else:
            fused = zscore_fusion(lists, limit=k)
        return [(f.item, f.score, dict(f.ranks)) for f in fused]

    def _live_docs(self, version: int, *, hidden: bool = False) -> set[str]:
        """Ids of documents with a row, read once per store version (not once per query on the indexed path) —
        and again, at most every ``refresh_seconds``, while some chunk of this version has no document row
        (``hidden``). A write commits a document's chunks, then its row; the row does not move the version, so
        a reader that looked in between would otherwise hide the new document until the next write."""
        now = time.monotonic()
        if (self._live is None or self._live[0] != version
                or (hidden and now - self._live[2] >= self.config.refresh_seconds)):
            self._live = (version, set(self.store.document_versions()), now)
        return self._live[1]

    def _live_docs_after(self, before: set[str], changed: set[str], version: int) -> set[str]:
        """The live documents of ``version``, from those of the state it advances from: only the documents
        whose chunks the write changed are looked up (a few ids, where reading every document row cost 15-24
        ms in 10,000). A document row that arrives later without a chunk change is the case :meth:`_live_docs`
        re-reads for while chunks wait for their row."""
        present = self.store.document_sources(sorted(changed))
        live = (before - changed) | present.keys()
        self._live = (version, live, time.monotonic())
        return live

    def _hydrate(self, ranked, lists, all_scores, state: _ExactState | None, version: int) -> list[Hit]:
        if not ranked:
            return []
        ids = [cid for cid, _, _ in ranked]
        row_idx: list[int] = []
        if state is not None:
            row_idx = [state.row_of[cid] for cid in ids]
            chunks = state.chunks(row_idx)
        else:  # a chunk deleted between the index lookup and this fetch, or of no live document, is dropped
            rows = self.store.chunks_by_id(ids).to_pylist()
            live = self._live_docs(version)
            if any(r["doc_id"] not in live for r in rows):
                live = self._live_docs(version, hidden=True)
            by_id = {r["chunk_id"]: r for r in rows if r["doc_id"] in live}
            ranked = [item for item in ranked if item[0] in by_id]
            chunks = [chunk_from_row(by_id[cid]) for cid, _, _ in ranked]
        listed = {name: dict(items) for name, items in lists.items()}
        hits = []
        for i, ((cid, score, ranks), chunk) in enumerate(zip(ranked, chunks)):
            scores: dict[str, float] = {}
            for name in lists:
                if state is not None and name in all_scores:
                    scores[name] = float(all_scores[name][row_idx[i]])
                elif cid in listed[name]:
                    scores[name] = listed[name][cid]
            if len(lists) > 1:
                scores[self.config.fusion] = score
            hits.append(Hit(chunk, score, scores, ranks))
        return hits


def hit_to_json(hit: Hit) -> dict:
    c = hit.chunk
    return {
        "chunk_id": c.chunk_id,
        "doc_id": c.doc_id,
        "doc_version": c.doc_version,
        "start": c.start,
        "end": c.end,
        "score": round(hit.score, 6),
        "scores": {k: round(v, 6) for k, v in hit.scores.items()},
        "ranks": dict(hit.ranks),
        "text": c.text,
        "heading_path": list(c.heading_path),
        "source_path": c.source_path,
        "metadata": json.loads(json.dumps(dict(c.metadata))),
    }
