"""QA files: every problem names the file and the line."""

from pathlib import Path

import pytest

from ragtune.errors import InputError
from ragtune.evaluate.datasets import read_qa


def qa_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "qa.jsonl"
    path.write_text(text)
    return path


def test_reads_items_with_defaults(tmp_path):
    items = read_qa(qa_file(tmp_path, '{"id": "q1", "question": "why?", "answers": ["because"], '
                                      '"gold_doc_ids": ["d1"]}\n\n{"id": 2, "question": "who?"}\n'))
    assert [i.item_id for i in items] == ["q1", "2"]
    assert items[0].answerable and not items[1].answerable and items[1].gold_doc_ids == ()


@pytest.mark.parametrize("text,message", [
    ("", "QA file is empty"),
    ('{"id": "a", "question": "q"}\n{bad json}\n', "qa.jsonl:2: not valid JSON"),
    ('["not", "an", "object"]\n', "qa.jsonl:1: expected a JSON object"),
    ('{"question": "q"}\n', "qa.jsonl:1: missing or empty field 'id'"),
    ('{"id": "a", "question": ""}\n', "qa.jsonl:1: missing or empty field 'question'"),
    ('{"id": "a", "question": "q"}\n{"id": "a", "question": "r"}\n', "qa.jsonl:2: duplicate id 'a' .first seen on line 1"),
    ('{"id": "a", "question": "q", "gold_doc_ids": "d1"}\n', "'gold_doc_ids' must be a list of strings"),
    ('{"id": "a", "question": "q", "answerable": "yes"}\n', "'answerable' must be true or false"),
])
def test_bad_qa_files_name_the_line(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        read_qa(qa_file(tmp_path, text))


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_qa(tmp_path / "nope.jsonl")


def test_eval_files_mix_qa_and_behaviour_items(tmp_path):
    from ragtune.evaluate.datasets import BehaviourItem, QAItem, read_eval_items

    items = read_eval_items(qa_file(tmp_path, '{"id": "a", "question": "q?"}\n'
                                              '{"id": "b", "input": "text", "output": "{\\"k\\": 1}"}\n'))
    assert isinstance(items[0], QAItem) and isinstance(items[1], BehaviourItem) and items[1].output == '{"k": 1}'


@pytest.mark.parametrize("text,message", [
    ('{"id": "a", "input": "", "output": "x"}\n', "non-empty string 'input'"),
    ('{"id": "a", "input": "x", "output": 3}\n', "string 'output'"),
    ('{"id": "a", "prompt": "x"}\n', "expected a QA item"),
])
def test_bad_behaviour_items_name_the_line(tmp_path, text, message):
    from ragtune.evaluate.datasets import read_eval_items

    with pytest.raises(InputError, match=f"qa.jsonl:1: .*{message}"):
        read_eval_items(qa_file(tmp_path, text))
