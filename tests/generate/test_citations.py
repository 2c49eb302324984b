"""Citation mapping and verification."""

from ragtune.generate.citations import strip_markers, verify_citations
from ragtune.types import Chunk


def chunk(n: int, text: str, start: int = 100) -> Chunk:
    return Chunk(f"d{n}#v-0", f"d{n}", "v", 0, text, start, start + len(text), (), f"d{n}")


SOURCES = [
    chunk(1, "The Eiffel Tower is in Paris. It was finished in 1889. Tourists climb it daily."),
    chunk(2, "Mount Fuji is the highest mountain in Japan. It last erupted in 1707.", start=0),
]


def test_a_marker_maps_to_the_best_supporting_sentence_with_document_offsets():
    check = verify_citations("It was finished in 1889 [1].", SOURCES)
    (c,) = check.citations
    assert (c.n, c.doc_id, c.quote) == (1, "d1", "It was finished in 1889.")
    assert SOURCES[0].text[c.start - 100 : c.end - 100] == c.quote  # offsets index the document
    assert not c.inferred and check.answer_support > 0.5


def test_a_citation_to_a_missing_source_is_dropped():
    check = verify_citations("Fuji erupted in 1707 [2][7].", SOURCES)
    assert [c.n for c in check.citations] == [2]
    assert check.dropped == [{"n": 7, "reason": "no source [7] (there are 2)"}]


def test_a_citation_whose_source_does_not_support_the_claim_is_dropped():
    check = verify_citations("Fuji erupted in 1707 [1].", SOURCES)
    assert check.citations == [] and check.dropped[0]["reason"].startswith("the cited source does not support")


def test_several_claims_cite_different_sources():
    check = verify_citations("The tower is in Paris [1]; Fuji is in Japan [2].", SOURCES)
    assert [(c.n, c.quote) for c in check.citations] == [
        (1, "The Eiffel Tower is in Paris."), (2, "Mount Fuji is the highest mountain in Japan.")]


def test_an_answer_without_markers_gets_an_inferred_citation():
    check = verify_citations("Mount Fuji last erupted in 1707.", SOURCES)
    (c,) = check.citations
    assert c.inferred and c.n == 2 and "1707" in c.quote


def test_quotes_are_always_substrings_of_the_cited_chunk():
    for answer in ["Paris [1]", "1889 [1] and tourists [1]", "Japan [2], 1707 [2]", "nothing here [1]"]:
        for c in verify_citations(answer, SOURCES).citations:
            assert c.quote in SOURCES[c.n - 1].text


def test_markers_are_stripped_from_the_shown_answer():
    assert strip_markers("It was 1889 [1]. Also Paris [1, 2] .") == "It was 1889. Also Paris."


def test_a_claim_spanning_two_sentences_cites_both():
    (c,) = verify_citations("The Eiffel Tower was finished in 1889 [1].", SOURCES).citations
    assert c.quote == "The Eiffel Tower is in Paris. It was finished in 1889."
