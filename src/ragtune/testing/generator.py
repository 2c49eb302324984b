"""A deterministic generator for fast unit tests (no model is loaded).

By default it behaves like a careful extractive reader: it answers with the source sentence that shares the most
words with the question and cites that source as ``[n]``; with no sources (closed-book) it says it does not know.
Pass ``reply`` (a fixed string, or a function of the messages) to script other behaviour — garbage, wrong
citations, abstentions.
"""

from __future__ import annotations

import re
from typing import Callable, Iterator, Sequence

from ragtune.config import GeneratorConfig
from ragtune.types import AdapterRef, Generation, GenerationParams, Message, ModelIdentity

_SOURCE = re.compile(r"^\[(\d+)\] ", re.M)
_WORD = re.compile(r"\w+")


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text) if len(w) > 2}


def _sources(user: str) -> list[tuple[str, str]]:
    """(number, text) of each source block in a grounded prompt (see ragtune.generate.prompts)."""
    if "Sources:\n" not in user:
        return []
    block = user.split("Sources:\n", 1)[1].rsplit("\n\n", 1)[0]
    marks = list(_SOURCE.finditer(block))
    ends = [m.start() for m in marks[1:]] + [len(block)]
    return [(m.group(1), block[m.end():end].strip()) for m, end in zip(marks, ends)]


def extractive_reply(messages: Sequence[Message]) -> str:
    user = messages[-1]["content"]
    question = user.split("Question:", 1)[-1].split("\n\nSources:", 1)[0]
    best, best_score = None, 0
    for number, text in _sources(user):
        for sentence in re.split(r"(?<=[.!?])\s+|\n+", text):
            score = len(_words(sentence) & _words(question))
            if score > best_score:
                best, best_score = f"{sentence.strip()} [{number}]", score
    return best or "I do not know."


class FakeGenerator:
    def __init__(self, reply: str | Callable[[Sequence[Message]], str] | None = None, model_id: str = "fake",
                 adapter_id: str | None = None, dtype: str = "float32") -> None:
        self._reply = reply
        # the precision is named as the local model names it (only when not float32); the replies ignore it
        self.identity = ModelIdentity(backend="fake", model_id=model_id, model_hash="0" * 64, adapter_id=adapter_id,
                                      adapter_hash=adapter_id and "a" * 64,
                                      extra={} if dtype == "float32" else {"dtype": dtype})
        self.calls: list[list[Message]] = []
        self.batches: list[int] = []  # size of each generate_batch call, so tests can check how work was batched

    def _text(self, messages: Sequence[Message]) -> str:
        self.calls.append(list(messages))
        if self._reply is None:
            return extractive_reply(messages)
        return self._reply if isinstance(self._reply, str) else self._reply(messages)

    def generate(self, messages: Sequence[Message], params: GenerationParams) -> Generation:
        text = self._text(messages)
        return Generation(text.strip(), sum(len(m["content"].split()) for m in messages), len(text.split()), 0.0)

    def generate_batch(self, requests: Sequence[tuple[Sequence[Message], GenerationParams]]) -> list[Generation]:
        """Like the local model's batched decoding: the same replies as ``generate``, one call for the batch."""
        self.batches.append(len(requests))
        return [self.generate(messages, params) for messages, params in requests]

    def stream(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[str]:
        for word in re.findall(r"\S+\s*", self._text(messages)):
            yield word


class FakeGenerators:
    """A generator factory (``ragtune.models.factory.GeneratorFactory``) of fakes, for ``Workspace(generators=…)``.

    Every request is recorded in ``requests`` as (config, adapter). With ``generator`` given, that one fake answers
    every request (so a test can read its ``calls``); otherwise each (model, adapter) gets its own
    :class:`FakeGenerator` whose identity names them — so an answer recorded under one model and replayed under
    another is told apart, as with real weights."""

    def __init__(self, reply: str | Callable[[Sequence[Message]], str] | None = None, *,
                 generator: FakeGenerator | None = None) -> None:
        self._reply = reply
        self._shared = generator
        self._built: dict[tuple, FakeGenerator] = {}
        self.requests: list[tuple[GeneratorConfig, AdapterRef | None]] = []

    def __call__(self, config: GeneratorConfig, adapter: AdapterRef | None) -> FakeGenerator:
        self.requests.append((config, adapter))
        if self._shared is not None:
            return self._shared
        key = (config.model, config.base_url, adapter.adapter_id if adapter else None, config.dtype)
        if key not in self._built:
            self._built[key] = FakeGenerator(self._reply, model_id=config.model,
                                             adapter_id=adapter.adapter_id if adapter else None, dtype=config.dtype)
        return self._built[key]
