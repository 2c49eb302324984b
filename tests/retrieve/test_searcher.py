"""The exact searcher's building blocks: row takes that never copy a chunked table into one, chunks built in bulk
or by row, and arrays that the state after a write extends in place while the states before it keep their rows."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from ragtune.retrieve.searcher import SPARE_MIN_ROWS, _GrowingRows, _take


def chunked_table(sizes: list[int]) -> pa.Table:
    batches, start = [], 0
    for size in sizes:
        rows = range(start, start + size)
        batches.append(pa.record_batch({"id": pa.array(list(rows), pa.int64()),
                                        "text": pa.array([f"row {i}" for i in rows])}))
        start += size
    return pa.Table.from_batches(batches)


@pytest.mark.parametrize("sizes", [[7], [3, 1, 5], [1, 1, 1, 1], [4, 6]])
def test_taking_rows_from_a_chunked_table_gives_arrows_answer_in_the_order_asked(sizes):
    table = chunked_table(sizes)
    n = table.num_rows
    rng = np.random.default_rng(len(sizes))
    for rows in ([], [0], [n - 1, 0], list(rng.integers(0, n, 12)), list(range(n))[::-1], [2, 2, 0, 2]):
        rows = [int(r) for r in rows]
        expected = table.combine_chunks().take(pa.array(rows, pa.int64())).to_pylist()
        assert _take(table, rows).to_pylist() == expected
        column = table["text"]
        assert _take(column, rows).to_pylist() == [f"row {r}" for r in rows]


def test_a_state_after_a_write_appends_into_spare_rows_and_the_state_before_keeps_its_rows():
    start = np.arange(12, dtype=np.float32).reshape(4, 3)
    held = _GrowingRows(start)
    before = held.first(4)
    after = held.extended(4, np.full((2, 3), 9, np.float32))
    assert after is held and np.shares_memory(before, after.first(6))  # no copy of the rows held
    assert before.tolist() == start.tolist() and after.first(6)[4:].tolist() == [[9, 9, 9], [9, 9, 9]]
    # a second state extending the same 4 rows (the first one already took the spare rows) gets its own copy
    other = held.extended(4, np.zeros((1, 3), np.float32))
    assert other is not held and other.first(5)[4].tolist() == [0, 0, 0] and after.first(6)[4, 0] == 9


def test_rows_past_the_spare_ones_or_wider_strings_go_to_a_new_buffer():
    held = _GrowingRows(np.zeros((2, 1), np.float32))
    grown = held.extended(2, np.ones((SPARE_MIN_ROWS + 1, 1), np.float32))
    assert grown is not held and grown.first(SPARE_MIN_ROWS + 3).sum() == SPARE_MIN_ROWS + 1
    paths = _GrowingRows(np.array(["a/b.md"]))
    longer = paths.extended(1, np.array(["a/a-much-longer-name.md"]))
    assert longer.first(2).tolist() == ["a/b.md", "a/a-much-longer-name.md"]
    assert paths.first(1).tolist() == ["a/b.md"]


@pytest.mark.parametrize("bulk_rows", [0, 2048])
def test_search_hits_carry_the_same_chunks_whether_a_state_builds_them_all_or_only_those_asked(
        fake_index, tmp_path, monkeypatch, bulk_rows):
    """A small state builds every chunk at its first search (one Arrow conversion, cheaper than a take a
    search); a big one only the hits. Either way a hit's chunk is its stored row, across searches and writes."""
    from tests.conftest import write

    from ragtune.retrieve import searcher as searcher_module

    monkeypatch.setattr(searcher_module, "BULK_CHUNK_ROWS", bulk_rows)
    for i in range(6):
        write(tmp_path / "docs" / f"doc{i}.md", f"# Topic {i}\n\nThe keyword{i} explains subject {i}.\n\nMore {i}.\n")
    fake_index.documents.ingest([tmp_path / "docs"])
    stored = {r["chunk_id"]: r for r in fake_index.documents.store.chunk_columns().to_pylist()}
    for query in ("keyword1 subject", "keyword4", "topic"):
        hits = fake_index.documents.search(query, mode="hybrid", k=3).hits
        assert hits and all(h.chunk.text == stored[h.chunk.chunk_id]["text"]
                            and h.chunk.start == stored[h.chunk.chunk_id]["start"] for h in hits)
    built = fake_index.documents.searcher._state[1]._chunk_cache
    assert (len(built) == len(stored)) == (bulk_rows > 0)
    write(tmp_path / "docs" / "doc4.md", "# Topic 4\n\nThe keyword4 now explains zebras.\n")
    fake_index.documents.ingest([tmp_path / "docs"])
    hit = fake_index.documents.search("keyword4 zebras", mode="hybrid", k=1).hits[0]
    assert "zebras" in hit.chunk.text  # the state after the write never serves the replaced chunk
