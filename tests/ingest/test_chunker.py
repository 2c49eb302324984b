"""Chunking: spans always map back to the text; structure and sizes are respected."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ragtune.config import ChunkingConfig
from ragtune.ingest.chunker import chunk_document, count_words
from ragtune.ingest.normalize import normalize_document
from ragtune.types import Block, ParsedDocument


def make_doc(blocks: list[Block]):
    return normalize_document(ParsedDocument("t", tuple(blocks)), doc_id="d", source_path="d.md", metadata={})


words = st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")), min_size=1, max_size=12)
block_strategy = st.builds(
    Block,
    kind=st.sampled_from(["heading", "paragraph", "list_item", "code", "table", "quote"]),
    text=st.lists(words, min_size=1, max_size=80).map(" ".join),
    level=st.integers(min_value=1, max_value=4),
)


@settings(max_examples=150, deadline=None)
@given(blocks=st.lists(block_strategy, min_size=1, max_size=25),
       target=st.integers(min_value=16, max_value=120), overlap=st.integers(min_value=0, max_value=7))
def test_every_chunk_span_maps_back_to_the_document_text(blocks, target, overlap):
    doc = make_doc(blocks)
    config = ChunkingConfig(target_tokens=target, overlap_tokens=overlap, min_tokens=min(8, target))
    chunks = chunk_document(doc, config, count_words)
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert chunk.text.strip()  # never an empty or whitespace-only chunk
    # chunks are in order and together cover every non-whitespace character
    covered = [False] * len(doc.text)
    for chunk in chunks:
        for i in range(chunk.start, chunk.end):
            covered[i] = True
    assert all(covered[i] for i, ch in enumerate(doc.text) if not ch.isspace())
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))


@settings(max_examples=100, deadline=None)
@given(blocks=st.lists(block_strategy, min_size=1, max_size=25), target=st.integers(min_value=16, max_value=80))
def test_chunks_stay_within_the_token_target_unless_a_single_word_is_larger(blocks, target):
    doc = make_doc(blocks)
    config = ChunkingConfig(target_tokens=target, overlap_tokens=0, min_tokens=0)
    for chunk in chunk_document(doc, config, count_words):
        # a heading (kept whole up to 2x target) may sit in front of a full chunk
        assert count_words([chunk.text])[0] <= 3 * target


def test_a_heading_starts_a_new_chunk_and_names_its_section():
    doc = make_doc([
        Block("heading", "Install", 1),
        Block("paragraph", " ".join(["alpha"] * 30)),
        Block("heading", "Usage", 1),
        Block("heading", "Search", 2),
        Block("paragraph", " ".join(["beta"] * 30)),
    ])
    chunks = chunk_document(doc, ChunkingConfig(target_tokens=100, overlap_tokens=0, min_tokens=20), count_words)
    assert [c.text.split("\n\n")[0] for c in chunks] == ["Install", "Usage"]
    assert chunks[0].heading_path == ("Install",)
    assert chunks[1].heading_path == ("Usage", "Search")


def test_small_sections_are_merged_until_min_tokens():
    doc = make_doc([Block("heading", "A", 1), Block("paragraph", "one two"),
                    Block("heading", "B", 1), Block("paragraph", "three four")])
    chunks = chunk_document(doc, ChunkingConfig(target_tokens=100, overlap_tokens=0, min_tokens=20), count_words)
    assert len(chunks) == 1


def test_a_long_paragraph_is_split_at_sentences_with_overlap():
    sentences = [f"Sentence number {i} talks about topic {i} at some length here." for i in range(30)]
    doc = make_doc([Block("paragraph", " ".join(sentences))])
    chunks = chunk_document(doc, ChunkingConfig(target_tokens=50, overlap_tokens=12, min_tokens=0), count_words)
    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk.text.startswith("Sentence number") and chunk.text.endswith("here.")
        assert count_words([chunk.text])[0] <= 50
    # consecutive chunks share a trailing sentence (overlap) so nothing is cut in half
    assert all(b.start < a.end for a, b in zip(chunks, chunks[1:]))


def test_a_sentence_longer_than_the_target_is_cut_at_word_boundaries():
    doc = make_doc([Block("paragraph", " ".join(f"w{i}" for i in range(250)))])
    chunks = chunk_document(doc, ChunkingConfig(target_tokens=40, overlap_tokens=0, min_tokens=0), count_words)
    assert all(count_words([c.text])[0] <= 40 for c in chunks)
    assert " ".join(c.text for c in chunks) == doc.text


def test_chunk_ids_are_unique_and_tied_to_the_document_version():
    doc = make_doc([Block("paragraph", " ".join(["x"] * 300))])
    chunks = chunk_document(doc, ChunkingConfig(target_tokens=50, overlap_tokens=0, min_tokens=0), count_words)
    ids = [c.chunk_id for c in chunks]
    assert len(set(ids)) == len(ids)
    assert all(c.doc_version == doc.version and doc.version[:12] in c.chunk_id for c in chunks)


def test_an_empty_document_has_no_chunks():
    assert chunk_document(make_doc([]), ChunkingConfig(), count_words) == []
