"""Read eval sets (JSONL). Two item shapes:

- QA: ``{"id", "question", "answers"?, "answerable"?, "gold_doc_ids"?, "context"?}``
- behaviour: ``{"id", "input", "output"}`` where ``output`` is the exact expected text (scored as JSON when it
  parses as JSON).

Every problem names the file and line; the whole file is checked before anything runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator, Union

from ragtune.errors import InputError
from ragtune.jsonl import json_objects


@dataclass(frozen=True)
class QAItem:
    item_id: str
    question: str
    answers: tuple[str, ...]
    answerable: bool
    gold_doc_ids: tuple[str, ...]
    context: str | None
    line: int


@dataclass(frozen=True)
class BehaviourItem:
    item_id: str
    input: str
    output: str
    line: int


EvalItem = Union[QAItem, BehaviourItem]


def _string_list(value: object, where: str, field_name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{where}: field '{field_name}' must be a list of strings, got {json.dumps(value)[:60]}")
    return tuple(value)


def _objects(path: Path, kind: str) -> Iterator[tuple[str, str, dict, int]]:
    """(where, id, object, line) for each non-blank line, after JSON, object, id and duplicate checks."""
    if not path.is_file():
        raise InputError(f"{path}: no such file (expected a {kind} .jsonl)")
    first_line: dict[str, int] = {}
    for where, number, obj in json_objects(path):
        item_id = obj.get("id")
        if isinstance(item_id, int) and not isinstance(item_id, bool):
            item_id = str(item_id)
        if not isinstance(item_id, str) or not item_id.strip():
            raise InputError(f"{where}: missing or empty field 'id'")
        if item_id in first_line:
            raise InputError(f"{where}: duplicate id {item_id!r} (first seen on line {first_line[item_id]})")
        first_line[item_id] = number
        yield where, item_id, obj, number
    if not first_line:
        raise InputError(f"{path}: {kind} file is empty")


def _qa_item(where: str, item_id: str, obj: dict, number: int) -> QAItem:
    question = obj.get("question")
    if not isinstance(question, str) or not question.strip():
        raise InputError(f"{where}: missing or empty field 'question'")
    answers = _string_list(obj.get("answers"), where, "answers")
    answerable = obj.get("answerable", bool(answers))
    if not isinstance(answerable, bool):
        raise InputError(f"{where}: field 'answerable' must be true or false")
    context = obj.get("context")
    if context is not None and not isinstance(context, str):
        raise InputError(f"{where}: field 'context' must be a string")
    gold = _string_list(obj.get("gold_doc_ids"), where, "gold_doc_ids")
    return QAItem(item_id, question, answers, answerable, gold, context, number)


def read_qa(path: Path) -> list[QAItem]:
    return [_qa_item(*entry) for entry in _objects(path, "QA")]


def read_eval_items(path: Path) -> list[EvalItem]:
    """QA and behaviour items (one shape per line; a file may mix them)."""
    items: list[EvalItem] = []
    for where, item_id, obj, number in _objects(path, "eval"):
        if "input" in obj or "output" in obj:
            text, expected = obj.get("input"), obj.get("output")
            if not isinstance(text, str) or not text.strip():
                raise InputError(f"{where}: behaviour item needs a non-empty string 'input'")
            if not isinstance(expected, str):
                raise InputError(f"{where}: behaviour item needs a string 'output' (the exact expected text)")
            items.append(BehaviourItem(item_id, text, expected, number))
        elif "question" in obj:
            items.append(_qa_item(where, item_id, obj, number))
        else:
            raise InputError(f"{where}: expected a QA item (with 'question') or a behaviour item ('input' and "
                             "'output')")
    return items


def with_gold_ids(items: list[EvalItem], resolved: dict[str, str]) -> list[EvalItem]:
    """The items with their gold document ids mapped through ``resolved`` (ids as written → stored ids)."""
    return [replace(i, gold_doc_ids=tuple(resolved.get(d, d) for d in i.gold_doc_ids)) if isinstance(i, QAItem)
            else i for i in items]
