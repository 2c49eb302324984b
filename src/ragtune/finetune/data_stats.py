"""What a training set looks like: sizes, lengths, completions, JSON keys — the stats ``finetune check`` prints
beside its findings."""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from typing import Sequence

from ragtune.evaluate.answer_metrics import parse_json
from ragtune.finetune.examples import TrainingExample

TOP_KEYS_SHOWN = 20  # JSON keys listed in the stats


def is_json_object(text: str) -> bool:
    return isinstance(parse_json(text), dict)


def canonical_completion(text: str) -> str:
    value = parse_json(text)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return " ".join(text.split())


def _distribution(values: Sequence[int]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]  # nearest rank
    return {"min": ordered[0], "median": statistics.median(ordered), "p95": p95, "max": ordered[-1]}


def data_stats(train: Sequence[TrainingExample], unique: Sequence[TrainingExample],
           eval: Sequence[TrainingExample] | None, task: str, detected: str, tokens: Sequence[int],  # noqa: A002
           estimated: bool, max_length: int) -> dict:
    stats: dict = {
        "examples": len(train),
        "unique_examples": len(unique),
        "distinct_completions": len({canonical_completion(ex.completion) for ex in train}),
        "task": task,
        "task_detected": detected,
        "json_object_share": round(sum(1 for ex in train if is_json_object(ex.completion)) / len(train), 4),
        "prompt_chars": _distribution([sum(len(m["content"]) for m in ex.prompt) for ex in train]),
        "completion_chars": _distribution([len(ex.completion) for ex in train]),
        "tokens": _distribution(tokens),
        "tokens_estimated": estimated,
        "max_length": max_length,
    }
    if eval is not None:
        stats["eval_examples"] = len(eval)
    if task == "json":
        objects = [obj for ex in train if isinstance(obj := parse_json(ex.completion), dict)]
        keys = Counter(k for obj in objects for k in obj)
        stats["json_keys"] = [{"key": k, "count": n, "share": round(n / max(1, len(objects)), 4)}
                              for k, n in keys.most_common(TOP_KEYS_SHOWN)]
    return stats
