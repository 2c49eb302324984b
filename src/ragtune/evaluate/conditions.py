"""The prompt each evaluation condition gives the model, and the few-shot examples that go with it.

A few-shot example shows the task *in the shape of the prompt it precedes*: before a grounded prompt (numbered
sources and a citation instruction, as ``oracle`` asks) each example is itself a grounded turn — its own question
and its own gold passage, built by the same :func:`~ragtune.generate.prompts.grounded_messages` — answered with a
``[1]`` citation; before a closed-book question each example is a bare question and answer. Bare question →
answer pairs in front of a grounded prompt show the model two different tasks: the bundled SmolLM2-135M followed
neither and opened most replies with "[1] [2] …" (issue #16; numbers in docs/diagnose.md). Behaviour items carry
all their information in the input, so their examples are input → output in every condition.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Mapping, Sequence

from ragtune.errors import InputError
from ragtune.evaluate.datasets import BehaviourItem, EvalItem, QAItem
from ragtune.generate.prompts import CLOSED_BOOK_SYSTEM, grounded_messages
from ragtune.models.generator import Message
from ragtune.types import Chunk

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Shot:
    """One solved example: the turn(s) the model is shown as the question, and the reply it should imitate."""

    prompt: tuple[Message, ...]
    reply: str


@dataclass(frozen=True)
class ExamplePool:
    """Where examples come from: the ``--train`` items when given, else the eval set itself (never the item being
    scored). Grounded examples need gold text; when no train item has any, they come from the eval set."""

    train: tuple[EvalItem, ...]
    eval_items: tuple[EvalItem, ...]


def gold_text(item: EvalItem, gold_texts: Mapping[str, str]) -> str | None:
    """The oracle's passage for a QA item: its own ``context``, else its gold documents' text; None when neither
    is available (and always for behaviour items, whose input already holds everything)."""
    if not isinstance(item, QAItem):
        return None
    text = item.context or "\n\n".join(gold_texts.get(d, "") for d in item.gold_doc_ids).strip()
    return text or None


def is_grounded(condition: str) -> bool:
    return condition.startswith("oracle")


def _gold_chunk(text: str) -> Chunk:
    return Chunk("gold", "gold", "", 0, text, 0, len(text), (), "")


def _same_source(a: EvalItem, b: EvalItem) -> bool:
    """Two questions on the same passage. Examples prefer other passages: a fixed set of examples in a deployed
    prompt rarely shares the user's document, and one that does hands over neighbouring facts (closed-book) or
    invites copying its answer from the same text (grounded)."""
    if not (isinstance(a, QAItem) and isinstance(b, QAItem)):
        return False
    return bool(set(a.gold_doc_ids) & set(b.gold_doc_ids)) or (a.context is not None and a.context == b.context)


def _candidates(item: EvalItem, pool: Sequence[EvalItem], grounded: bool,
                gold_texts: Mapping[str, str]) -> list[EvalItem]:
    """Solved items of the scored item's kind, other than the item; for the grounded shape, only those whose
    passage is available (an example without one could only be shown closed-book, the shape that misleads)."""
    same = [p for p in pool if type(p) is type(item) and p.item_id != item.item_id]
    if isinstance(item, QAItem):
        same = [p for p in same if isinstance(p, QAItem) and p.answers]
        if grounded:
            same = [p for p in same if gold_text(p, gold_texts)]
    return same


def _source_items(item: EvalItem, pool: ExamplePool, grounded: bool,
                  gold_texts: Mapping[str, str]) -> list[EvalItem]:
    if not pool.train:
        return _candidates(item, pool.eval_items, grounded, gold_texts)
    from_train = _candidates(item, pool.train, grounded, gold_texts)
    if grounded and isinstance(item, QAItem) and not from_train:
        return _candidates(item, pool.eval_items, grounded, gold_texts)  # see grounded_examples_note
    return from_train


def _shot(example: EvalItem, grounded: bool, gold_texts: Mapping[str, str]) -> Shot:
    if isinstance(example, BehaviourItem):
        return Shot(({"role": "user", "content": example.input},), example.output)
    answer = example.answers[0]
    if grounded:
        passage = gold_text(example, gold_texts)
        assert passage is not None  # _candidates keeps only examples with a passage for the grounded shape
        return Shot(tuple(grounded_messages(example.question, [_gold_chunk(passage)])), f"{answer} [1]")
    return Shot(({"role": "user", "content": example.question},), answer)


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text) if len(w) > 2}


def _pick(item: EvalItem, group: Sequence[EvalItem], k: int, rng: random.Random) -> list[EvalItem]:
    """``k`` of ``group``. For a question, the questions sharing the most words with it come first (ties in seeded
    random order): "when …" then gets examples answered with a date, "who …" with a name — the shape of the answer,
    not only of the prompt (nearest-neighbour example selection; Liu et al. 2022, "What Makes Good In-Context
    Examples for GPT-3?"). Behaviour items share one output format, so any example shows it: a seeded sample."""
    if k <= 0 or not group:
        return []
    if not isinstance(item, QAItem):
        return rng.sample(list(group), min(k, len(group)))
    words = _words(item.question)
    keyed = sorted((-len(words & _words(c.question)), rng.random(), n)  # type: ignore[union-attr]
                   for n, c in enumerate(group))
    return [group[n] for _, _, n in keyed[:k]]


def choose_examples(item: EvalItem, pool: ExamplePool, shots: int, seed: int, *, grounded: bool,
                    gold_texts: Mapping[str, str]) -> list[Shot]:
    """Up to ``shots`` solved examples for ``item``, chosen deterministically per item (never the item itself),
    preferring examples on other passages, each in the shape of the prompt it will precede."""
    candidates = _source_items(item, pool, grounded, gold_texts)
    rng = random.Random(f"{seed}:{item.item_id}")
    chosen = _pick(item, [c for c in candidates if not _same_source(c, item)], shots, rng)
    # too few other passages: fill up with questions on the item's own passage
    chosen += _pick(item, [c for c in candidates if _same_source(c, item)], shots - len(chosen), rng)
    return [_shot(c, grounded, gold_texts) for c in chosen]


def shot_turns(examples: Sequence[Shot]) -> list[Message]:
    turns: list[Message] = []
    for shot in examples:
        turns += [dict(m) for m in shot.prompt] + [{"role": "assistant", "content": shot.reply}]
    return turns


def condition_messages(item: EvalItem, condition: str, gold: str | None, examples: Sequence[Shot]) -> list[Message]:
    """The prompt for every condition except ``retrieval`` (which is the live ``ask`` pipeline)."""
    shots = shot_turns(examples) if "few_shot" in condition else []
    if isinstance(item, BehaviourItem):
        return shots + [{"role": "user", "content": item.input}]
    if is_grounded(condition):
        if not gold:
            raise InputError(f"item {item.item_id}: the oracle condition needs its 'context' or gold_doc_ids "
                             "with --corpus")
        return shots + grounded_messages(item.question, [_gold_chunk(gold)])
    return [{"role": "system", "content": CLOSED_BOOK_SYSTEM}] + shots + [{"role": "user", "content": item.question}]


def item_messages(item: EvalItem, condition: str, pool: ExamplePool, gold_texts: Mapping[str, str], shots: int,
                  seed: int) -> list[Message]:
    """Everything the harness needs to prompt one item under a (non-retrieval) condition."""
    grounded = is_grounded(condition)
    examples = (choose_examples(item, pool, shots, seed, grounded=grounded, gold_texts=gold_texts)
                if "few_shot" in condition else [])
    return condition_messages(item, condition, gold_text(item, gold_texts), examples)


def grounded_examples_note(train: Sequence[EvalItem], gold_texts: Mapping[str, str]) -> str | None:
    """What diagnose should say when ``--train`` questions cannot all serve as grounded examples (they need a
    ``context`` or gold documents found in the corpus); None when every one can, or there is no train file."""
    questions = [p for p in train if isinstance(p, QAItem) and p.answers]
    if not questions:
        return None
    grounded = sum(1 for p in questions if gold_text(p, gold_texts))
    if grounded == len(questions):
        return None
    if grounded == 0:
        return (f"grounded examples were not available: none of the {len(questions)} --train questions has a "
                "context or gold documents in the corpus, so oracle + few-shot took its examples from the other "
                "eval questions (with their gold passages)")
    return (f"{grounded} of {len(questions)} --train questions have a gold passage (context or gold documents in "
            "the corpus); oracle + few-shot drew its grounded examples from those only")
