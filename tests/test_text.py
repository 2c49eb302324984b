"""The BM25 analyzer: words, lower case, accents folded, stop words out, stems in."""

import random
import unicodedata

from ragtune.text import _fold, analyze, sentence_spans


def test_words_are_lowercased_stemmed_and_stop_words_dropped():
    assert analyze("The Runners were running quickly!") == ["runner", "run", "quick"]


def test_accents_fold_and_punctuation_splits():
    assert analyze("Frédéric's café-bar") == analyze("frederic cafe bar") == ["freder", "cafe", "bar"]


def test_numbers_and_non_latin_words_are_kept():
    assert analyze("1 , 000 km") == ["1", "000", "km"]
    assert analyze("東京 tower") == ["東京", "tower"]


def test_empty_and_stopword_only_text_has_no_terms():
    assert analyze("") == [] and analyze("the of and") == []


def pieces(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text, 0, len(text))]


def test_sentences_end_at_full_stops_before_a_capital_and_at_blank_lines():
    assert pieces("It ships in March. The owner is Dana. e.g. not here") == [
        "It ships in March.", "The owner is Dana. e.g. not here"]
    # a heading or list without a full stop is its own segment: a citation never quotes it with the sentence after
    assert pieces("Release\n\nProject Heron ships on 14 March.\n  \n- item one\n- item two") == [
        "Release", "Project Heron ships on 14 March.", "- item one\n- item two"]


def test_sentence_offsets_point_into_the_whole_text():
    text = "Intro.\n\nTitle\n\nBody text here."
    spans = sentence_spans(text, 8, len(text))
    assert [text[s:e] for s, e in spans] == ["Title", "Body text here."] and spans[0][0] == 8


def reference_fold(text: str) -> str:
    """The folding rule spelled out: lower case, NFKD, every combining mark dropped."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(ch))


def test_folding_equals_the_rule_character_for_character_on_any_text():
    samples = ["Plain ASCII, 42 words.", "Zürich, São Paulo, Kraków, Ångström",
               "\u212a Kelvin and \ufb01ne ligature",
               "combining e\u0301 alone \u0301 at the start", "東京 and Москва; emoji 🚀🔥, maths ∑ x² ≤ ∞",
               "Ǆ İstanbul ß ﬀ ½ ㎏", ""]
    rng = random.Random(0)
    alphabet = "aZ09 .,-é\u0301\u0308ÅßİǄ\u212a東ﬁ½🚀\u00a0\n"
    samples += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(500)]
    for text in samples:
        assert _fold(text) == reference_fold(text), repr(text)
