"""Answer metrics as pure functions, following the SQuAD evaluation script's definitions (Rajpurkar et al.,
2016/2018): answers are normalized (lower case, punctuation and the articles a/an/the removed, whitespace
collapsed) before exact match and token-level F1; with several gold answers the best score counts."""

from __future__ import annotations

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
