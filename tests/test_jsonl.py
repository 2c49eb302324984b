"""One JSONL reader for corpora, eval sets and training sets: the same errors everywhere."""

from __future__ import annotations

import pytest

from ragtune.errors import InputError
from ragtune.evaluate.datasets import read_eval_items
from ragtune.finetune.examples import read_training_examples
from ragtune.ingest.corpus import read_corpus
from ragtune.jsonl import json_objects


def test_a_byte_order_mark_on_the_first_line_is_accepted_by_every_reader(tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_bytes(b'\xef\xbb\xbf{"id": "d", "text": "hello"}\n')
    qa = tmp_path / "qa.jsonl"
    qa.write_bytes(b'\xef\xbb\xbf{"id": "q", "question": "hi?", "answers": ["x"]}\n')
    train = tmp_path / "t.jsonl"
    train.write_bytes(b'\xef\xbb\xbf{"input": "a", "output": "b"}\n')
    assert read_corpus(corpus)[0].doc_id == "d"
    assert read_eval_items(qa)[0].item_id == "q"
    assert read_training_examples(train)[0].completion == "b"


def test_a_byte_order_mark_later_in_the_file_is_an_error(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"a": 1}\n\xef\xbb\xbf{"a": 2}\n')
    with pytest.raises(InputError, match=r"x\.jsonl:2: not valid JSON"):
        list(json_objects(path))


@pytest.mark.parametrize("content,message", [
    (b'{"a": 1}\n{oops\n', r"x\.jsonl:2: not valid JSON \(Expecting property name"),
    (b'[1, 2]\n', r"x\.jsonl:1: expected a JSON object, got array"),
    (b'{"a": "\xff"}\n', r"x\.jsonl:1: not valid UTF-8 \(byte 8 of the line\)"),
])
def test_bad_lines_are_named_by_file_and_line(tmp_path, content, message):
    path = tmp_path / "x.jsonl"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        list(json_objects(path))


def test_blank_lines_are_skipped_and_line_numbers_stay_true(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('\n{"a": 1}\n\n{"a": 2}\n')
    assert [(number, obj["a"]) for _, number, obj in json_objects(path)] == [(2, 1), (4, 2)]


def test_a_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(InputError, match="nope.jsonl: cannot read"):
        list(json_objects(tmp_path / "nope.jsonl"))
