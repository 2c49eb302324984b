"""Batching helpers: generate_many (order, bounds, fallback, isolation of a failing request) and the local
model's token-budget grouping. The real model's batched output is checked in test_local.py (slow)."""

from __future__ import annotations

import pytest

from ragtune.models.generator import generate_many
from ragtune.models.local import _token_batches
from ragtune.testing import FakeGenerator
from ragtune.types import GenerationParams

PARAMS = GenerationParams(max_new_tokens=8)


def requests(*texts: str):
    return [([{"role": "user", "content": t}], PARAMS) for t in texts]


def echo(messages) -> str:
    if "boom" in messages[-1]["content"]:
        raise RuntimeError("the model broke on this prompt")
    return "re: " + messages[-1]["content"]


def collect(generator, reqs, batch_size):
    out: dict[int, object] = {}
    order: list[int] = []

    def on_result(i, result):
        assert i not in out, "each request is reported once"
        out[i] = result
        order.append(i)

    generate_many(generator, reqs, batch_size=batch_size, on_result=on_result)
    return out, order


def test_every_request_is_answered_once_in_bounded_batches_of_similar_length():
    generator = FakeGenerator(echo)
    texts = ["a" * n for n in (50, 3, 40, 7, 30, 1, 20)]
    out, order = collect(generator, requests(*texts), batch_size=3)
    assert [out[i].text for i in range(len(texts))] == [f"re: {t}" for t in texts]
    assert generator.batches == [3, 3] and max(generator.batches) <= 3  # the 7th is alone: plain generate
    assert order == sorted(range(len(texts)), key=lambda i: len(texts[i]))  # shortest prompts first


def test_a_failing_request_costs_only_its_own_result():
    generator = FakeGenerator(echo)
    out, _ = collect(generator, requests("one", "boom", "three", "four"), batch_size=4)
    assert isinstance(out[1], RuntimeError) and "broke" in str(out[1])
    assert [out[i].text for i in (0, 2, 3)] == ["re: one", "re: three", "re: four"]


def test_a_generator_without_batching_answers_one_at_a_time():
    class Plain:
        identity = FakeGenerator().identity

        def __init__(self):
            self.calls = 0

        def generate(self, messages, params):
            self.calls += 1
            return FakeGenerator(echo).generate(messages, params)

    plain = Plain()
    out, _ = collect(plain, requests("x", "y", "z"), batch_size=8)
    assert plain.calls == 3 and [out[i].text for i in range(3)] == ["re: x", "re: y", "re: z"]
    with pytest.raises(ValueError, match="batch_size"):
        generate_many(plain, requests("x"), batch_size=0, on_result=lambda i, r: None)


def test_token_batches_keep_padded_size_within_the_budget():
    sizes = [(300, 48), (20, 48), (25, 48), (280, 48), (30, 48), (700, 48)]
    groups = _token_batches(sizes, max_tokens=1000)
    assert sorted(i for g in groups for i in g) == list(range(len(sizes)))
    for group in groups:
        padded = len(group) * (max(sizes[i][0] for i in group) + max(sizes[i][1] for i in group))
        assert padded <= 1000 or len(group) == 1  # a single row longer than the budget still runs, alone
    assert groups[0] == [1, 2, 4]  # short prompts together, shortest first
