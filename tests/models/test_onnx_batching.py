"""How the ONNX embedder cuts texts into batches: at most ``batch_size`` texts and a padded-token budget."""

from __future__ import annotations

import numpy as np

from ragtune.models.onnx_embedder import _batches


def sizes(batches: list[np.ndarray]) -> list[int]:
    return [len(b) for b in batches]


def test_long_texts_go_few_to_a_batch_and_short_ones_many():
    lengths = [256] * 20 + [20] * 100  # longest first, as embed orders them
    batches = _batches(np.arange(len(lengths)), lengths, batch_size=64, max_tokens=4096)
    assert sizes(batches) == [16, 16, 64, 24]  # 16 x 256 = 4096 padded tokens; 64 short texts: the batch size
    assert all(len(b) * max(lengths[i] for i in b) <= 4096 for b in batches)
    assert np.array_equal(np.concatenate(batches), np.arange(len(lengths)))  # every text once, in order


def test_a_text_longer_than_the_budget_goes_alone():
    lengths = [512, 512, 8]
    assert sizes(_batches(np.arange(3), lengths, batch_size=64, max_tokens=256)) == [1, 1, 1]


def test_the_batch_size_still_caps_a_batch_and_the_order_given_is_kept():
    order = np.array([2, 0, 1])
    lengths = [10, 10, 10]
    batches = _batches(order, lengths, batch_size=2, max_tokens=10**6)
    assert [b.tolist() for b in batches] == [[2, 0], [1]]
    assert _batches(np.array([], dtype=np.int64), [], batch_size=8, max_tokens=4096) == []
