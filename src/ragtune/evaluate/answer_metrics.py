"""Answer metrics as pure functions, following the SQuAD evaluation script's definitions (Rajpurkar et al.,
2016/2018): answers are normalized (lower case, punctuation and the articles a/an/the removed, whitespace
collapsed) before exact match and token-level F1; with several gold answers the best score counts."""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from typing import Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation)


def normalize_answer(text: str) -> str:
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    if not golds:
        raise ValueError("exact match needs at least one gold answer")
    return float(any(normalize_answer(prediction) == normalize_answer(g) for g in golds))


def _f1(prediction: str, gold: str) -> float:
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str, golds: Sequence[str]) -> float:
    if not golds:
        raise ValueError("F1 needs at least one gold answer")
    return max(_f1(prediction, g) for g in golds)


def answer_contained(prediction: str, golds: Sequence[str]) -> float:
    """1 when a normalized gold answer occurs inside the normalized prediction (robust to verbose answers)."""
    if not golds:
        raise ValueError("answer_contained needs at least one gold answer")
    pred = f" {normalize_answer(prediction)} "
    return float(any(f" {normalize_answer(g)} " in pred for g in golds if normalize_answer(g)))


def citation_precision(cited_doc_ids: Sequence[str], gold_doc_ids: Sequence[str]) -> float | None:
    """Share of citations that point at a gold document; None when nothing was cited."""
    if not cited_doc_ids:
        return None
    gold = set(gold_doc_ids)
    return sum(1 for d in cited_doc_ids if d in gold) / len(cited_doc_ids)


# ---- behaviour items: the exact expected output, scored as JSON when it is JSON --------------------------------


def parse_json(text: str) -> object | None:
    """The value ``text`` holds as JSON (surrounding whitespace allowed, nothing else), or None."""
    try:
        return json.loads(text.strip())
    except (ValueError, TypeError):
        return None


def json_valid(prediction: str) -> float:
    return float(parse_json(prediction) is not None)


def field_accuracy(prediction: str, expected: str) -> float:
    """Share of fields right, over the union of expected and predicted keys (a missing field and an invented one
    both count as wrong). Values compare as canonical JSON; invalid JSON scores 0."""
    want = parse_json(expected)
    if not isinstance(want, dict):
        raise ValueError("field_accuracy needs an expected JSON object")
    got = parse_json(prediction)
    if not isinstance(got, dict):
        return 0.0
    keys = set(want) | set(got)
    if not keys:
        return 1.0
    same = sum(1 for k in keys if k in want and k in got and _canonical(want[k]) == _canonical(got[k]))
    return same / len(keys)


def output_exact_match(prediction: str, expected: str) -> float:
    """Equal as JSON values when the expected output is JSON (key order and spacing ignored), else equal text."""
    want = parse_json(expected)
    if want is not None:
        got = parse_json(prediction)
        return float(got is not None and _canonical(got) == _canonical(want))
    return float(prediction.strip() == expected.strip())


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
