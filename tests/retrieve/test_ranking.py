"""Top-k selection and filters."""

import numpy as np
import pytest

from ragtune.errors import InputError
from ragtune.retrieve.ranking import cosine_scores, top_k
from ragtune.types import Filters, metadata_pairs


def test_top_k_orders_by_score_and_breaks_ties_by_row():
    scores = np.array([0.1, 0.9, 0.5, 0.9, 0.0])
    assert top_k(scores, 3).tolist() == [1, 3, 2]
    assert top_k(scores, 10).tolist() == [1, 3, 2, 0, 4]


def test_top_k_respects_mask_and_positive_only():
    scores = np.array([0.0, 2.0, 1.0, 3.0])
    assert top_k(scores, 10, mask=np.array([True, True, True, False])).tolist() == [1, 2, 0]
    assert top_k(scores, 10, positive_only=True).tolist() == [3, 1, 2]
    assert top_k(scores, 0).tolist() == [] and top_k(np.array([]), 3).tolist() == []


def test_cosine_of_normalized_vectors_is_the_dot_product():
    vectors = np.array([[1.0, 0.0], [0.6, 0.8]], dtype=np.float32)
    assert cosine_scores(vectors, np.array([0.6, 0.8])) == pytest.approx([0.6, 1.0])


def test_filters_parse_key_value_pairs_and_match_rows():
    f = Filters.parse("docs/", ["lang=en", "team = core"])
    assert f.metadata == {"lang": "en", "team": "core"}
    paths = np.array(["docs/a.md", "other/a.md", "docs/a.md"])
    rows = [set(metadata_pairs({"lang": "en", "team": "core", "x": "1"})),
            set(metadata_pairs({"lang": "en", "team": "core"})), set(metadata_pairs({"lang": "fr", "team": "core"}))]
    assert f.mask(paths, rows).tolist() == [True, False, False]
    assert Filters().empty


def test_metadata_pairs_encode_key_and_value_unambiguously():
    value_has_equals, key_has_equals = metadata_pairs({"a": "b=c"}), metadata_pairs({"a=b": "c"})
    assert value_has_equals != key_has_equals
    rows = [set(value_has_equals), set(key_has_equals)]
    paths = np.array(["x", "y"])
    assert Filters(metadata={"a": "b=c"}).mask(paths, rows).tolist() == [True, False]
    assert Filters(metadata={"a=b": "c"}).mask(paths, rows).tolist() == [False, True]
    assert Filters.parse(None, ["a=b=c"]).metadata == {"a": "b=c"}  # the CLI splits at the first '='


def test_a_filter_without_equals_is_a_user_error():
    with pytest.raises(InputError, match="expected key=value"):
        Filters.parse(None, ["lang"])
