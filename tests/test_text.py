"""The BM25 analyzer: words, lower case, accents folded, stop words out, stems in."""

from ragtune.text import analyze


def test_words_are_lowercased_stemmed_and_stop_words_dropped():
    assert analyze("The Runners were running quickly!") == ["runner", "run", "quick"]


def test_accents_fold_and_punctuation_splits():
    assert analyze("Frédéric's café-bar") == analyze("frederic cafe bar") == ["freder", "cafe", "bar"]


def test_numbers_and_non_latin_words_are_kept():
    assert analyze("1 , 000 km") == ["1", "000", "km"]
    assert analyze("東京 tower") == ["東京", "tower"]


def test_empty_and_stopword_only_text_has_no_terms():
    assert analyze("") == [] and analyze("the of and") == []
