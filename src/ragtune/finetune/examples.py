"""Read training examples (JSONL, one object a line). Accepted shapes:

- ``{"input", "output"}`` (``id`` optional): the prompt is one user message holding ``input``; ``output`` is the
  completion. Eval-set behaviour items ``{"id", "input", "output"}`` are the same shape, so an eval set can be
  split for training.
- chat ``{"messages": [{"role", "content"}, ...]}``: the last message must be the assistant's — it is the
  completion; everything before it is the prompt.
- QA items ``{"id"?, "question", "answers": [...]}``: the question is the input, ``answers[0]`` the completion. A QA
  item without answers (unanswerable) gets an empty completion, which the data checks report as an error.

Other keys (``mr``, ``gold_doc_ids``, …) are ignored. Every problem names ``file:line`` and the field; the whole
file is read before anything runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ragtune.errors import InputError
from ragtune.jsonl import json_objects
from ragtune.types import Message

ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class TrainingExample:
    """One prompt → completion pair. ``example_id`` is the row's ``id``, or ``line N`` when it has none."""

    example_id: str
    prompt: tuple[Message, ...]
    completion: str
    line: int


def read_training_examples(path: Path) -> list[TrainingExample]:
    """All examples in ``path``, in file order; raises :class:`InputError` naming ``file:line`` and the field."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file (expected a training .jsonl)")
    examples: list[TrainingExample] = []
    first_line: dict[str, int] = {}
    for where, number, obj in json_objects(path):
        example_id = _example_id(obj, where, number)
        if "id" in obj:
            if example_id in first_line:
                raise InputError(f"{where}: duplicate id {example_id!r} (first seen on line {first_line[example_id]})")
            first_line[example_id] = number
        prompt, completion = _prompt_and_completion(obj, where)
        examples.append(TrainingExample(example_id, prompt, completion, number))
    if not examples:
        raise InputError(f"{path}: training file is empty")
    return examples


def _example_id(obj: dict, where: str, number: int) -> str:
    if "id" not in obj:
        return f"line {number}"
    value = obj["id"]
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}: field 'id' must be a non-empty string or an integer")
    return value


def _prompt_and_completion(obj: dict, where: str) -> tuple[tuple[Message, ...], str]:
    if "messages" in obj:
        return _chat(obj["messages"], where)
    if "input" in obj or "output" in obj:
        text, output = obj.get("input"), obj.get("output")
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"{where}: missing or empty field 'input' (a non-empty string)")
        if not isinstance(output, str):
            raise InputError(f"{where}: field 'output' must be a string (the completion to learn), got "
                             f"{_show(output)}")
        return ({"role": "user", "content": text},), output
    if "question" in obj:
        question, answers = obj["question"], obj.get("answers", [])
        if not isinstance(question, str) or not question.strip():
            raise InputError(f"{where}: missing or empty field 'question' (a non-empty string)")
        if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
            raise InputError(f"{where}: field 'answers' must be a list of strings, got {_show(answers)}")
        return ({"role": "user", "content": question},), answers[0] if answers else ""
    raise InputError(f"{where}: expected 'input' and 'output', 'messages' (chat), or 'question' and 'answers'; "
                     f"got keys {sorted(obj)}")


def _chat(messages: object, where: str) -> tuple[tuple[Message, ...], str]:
    if not isinstance(messages, list) or len(messages) < 2:
        raise InputError(f"{where}: field 'messages' must be a list of at least two messages (a prompt and the "
                         "assistant's reply)")
    checked: list[Message] = []
    for i, message in enumerate(messages):
        field = f"messages[{i}]"
        if not isinstance(message, dict):
            raise InputError(f"{where}: {field} must be an object with 'role' and 'content'")
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise InputError(f"{where}: {field}.role is {_show(role)}; expected one of {', '.join(ROLES)}")
        if not isinstance(content, str):
            raise InputError(f"{where}: {field}.content must be a string, got {_show(content)}")
        checked.append({"role": role, "content": content})
    if checked[-1]["role"] != "assistant":
        raise InputError(f"{where}: messages[{len(checked) - 1}].role is {checked[-1]['role']!r}; the last message "
                         "must be the assistant's (it is the completion to learn)")
    prompt = tuple(checked[:-1])
    if not any(m["role"] == "user" for m in prompt):
        raise InputError(f"{where}: field 'messages' needs a user message before the assistant's reply")
    return prompt, checked[-1]["content"]


def _show(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)[:60]
