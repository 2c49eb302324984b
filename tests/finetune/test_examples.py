"""Training files: the accepted shapes, and every problem names file:line and the field."""

from pathlib import Path

import pytest

from ragtune.errors import InputError
from ragtune.finetune.examples import TrainingExample, read_training_examples


def train_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "t.jsonl"
    path.write_text(text, encoding="utf-8")
    return path


def test_input_output_rows_become_one_user_message_and_blank_lines_are_skipped(tmp_path):
    examples = read_training_examples(train_file(
        tmp_path, '{"input": "2+2?", "output": "4"}\n\n   \n{"input": "capital of France?", "output": "Paris"}\n'))
    assert examples == [
        TrainingExample("line 1", ({"role": "user", "content": "2+2?"},), "4", 1),
        TrainingExample("line 4", ({"role": "user", "content": "capital of France?"},), "Paris", 4),
    ]


def test_chat_rows_split_into_prompt_and_the_assistants_completion(tmp_path):
    [example] = read_training_examples(train_file(tmp_path, (
        '{"id": "c1", "messages": [{"role": "system", "content": "Answer in JSON."}, '
        '{"role": "user", "content": "name?"}, {"role": "assistant", "content": "{\\"name\\": \\"Ada\\"}"}]}\n')))
    assert example.example_id == "c1"
    assert example.prompt == ({"role": "system", "content": "Answer in JSON."}, {"role": "user", "content": "name?"})
    assert example.completion == '{"name": "Ada"}'


def test_multi_turn_chat_keeps_earlier_turns_in_the_prompt(tmp_path):
    [example] = read_training_examples(train_file(tmp_path, (
        '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}, '
        '{"role": "user", "content": "bye"}, {"role": "assistant", "content": "goodbye"}]}\n')))
    assert [m["content"] for m in example.prompt] == ["hi", "hello", "bye"]
    assert example.completion == "goodbye"


def test_eval_behaviour_items_are_training_examples_with_their_ids(tmp_path):
    [example] = read_training_examples(train_file(
        tmp_path, '{"id": "e2e-0001", "input": "Blue Spice is a pub.", "output": "{}", "mr": "name: Blue Spice"}\n'))
    assert (example.example_id, example.completion, example.line) == ("e2e-0001", "{}", 1)


def test_qa_items_use_the_question_and_the_first_answer(tmp_path):
    examples = read_training_examples(train_file(tmp_path, (
        '{"id": 7, "question": "Who?", "answers": ["Ada", "Ada Lovelace"], "gold_doc_ids": ["d1"]}\n'
        '{"id": "q2", "question": "Unanswerable?", "answers": [], "answerable": false}\n')))
    assert examples[0] == TrainingExample("7", ({"role": "user", "content": "Who?"},), "Ada", 1)
    assert examples[1].completion == ""  # reported by the data checks as an empty completion


@pytest.mark.parametrize("text,message", [
    ("", r"t\.jsonl: training file is empty"),
    ("\n  \n", r"t\.jsonl: training file is empty"),
    ('{"input": "a", "output": "b"}\n{bad json}\n', r"t\.jsonl:2: not valid JSON"),
    ('["input", "output"]\n', r"t\.jsonl:1: expected a JSON object, got array"),
    ('{"output": "b"}\n', r"t\.jsonl:1: missing or empty field 'input'"),
    ('{"input": "  ", "output": "b"}\n', r"t\.jsonl:1: missing or empty field 'input'"),
    ('{"input": ["a"], "output": "b"}\n', r"t\.jsonl:1: missing or empty field 'input'"),
    ('{"input": "a"}\n', r"t\.jsonl:1: field 'output' must be a string"),
    ('{"input": "a", "output": {"k": 1}}\n', r"t\.jsonl:1: field 'output' must be a string"),
    ('{"messages": "hi"}\n', r"t\.jsonl:1: field 'messages' must be a list"),
    ('{"messages": [{"role": "assistant", "content": "x"}]}\n', r"t\.jsonl:1: field 'messages' must be a list of at "
                                                                 "least two"),
    ('{"messages": ["hi", {"role": "assistant", "content": "x"}]}\n', r"t\.jsonl:1: messages\[0\] must be an object"),
    ('{"messages": [{"role": "bot", "content": "q"}, {"role": "assistant", "content": "a"}]}\n',
     r"t\.jsonl:1: messages\[0\]\.role is \"bot\"; expected one of system, user, assistant"),
    ('{"messages": [{"content": "q"}, {"role": "assistant", "content": "a"}]}\n', r"t\.jsonl:1: messages\[0\]\.role"),
    ('{"messages": [{"role": "user", "content": 3}, {"role": "assistant", "content": "a"}]}\n',
     r"t\.jsonl:1: messages\[0\]\.content must be a string"),
    ('{"messages": [{"role": "user", "content": "q"}, {"role": "user", "content": "a"}]}\n',
     r"t\.jsonl:1: messages\[1\]\.role is 'user'; the last message must be the assistant's"),
    ('{"messages": [{"role": "system", "content": "s"}, {"role": "assistant", "content": "a"}]}\n',
     r"t\.jsonl:1: field 'messages' needs a user message"),
    ('{"question": "", "answers": ["a"]}\n', r"t\.jsonl:1: missing or empty field 'question'"),
    ('{"question": "q", "answers": "a"}\n', r"t\.jsonl:1: field 'answers' must be a list of strings"),
    ('{"prompt": "q", "completion": "a"}\n', r"t\.jsonl:1: expected 'input' and 'output', 'messages' .chat., or "
                                             r"'question' and 'answers'; got keys \['completion', 'prompt'\]"),
    ('{"id": ["x"], "input": "a", "output": "b"}\n', r"t\.jsonl:1: field 'id' must be a non-empty string"),
    ('{"id": "a", "input": "q", "output": "x"}\n{"id": "b", "input": "q", "output": "x"}\n'
     '{"id": "a", "input": "r", "output": "y"}\n', r"t\.jsonl:3: duplicate id 'a' \(first seen on line 1\)"),
])
def test_bad_training_files_name_the_line_and_the_field(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        read_training_examples(train_file(tmp_path, text))


def test_a_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match=r"missing\.jsonl: no such file"):
        read_training_examples(tmp_path / "missing.jsonl")


def test_invalid_utf8_names_the_line(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(b'{"input": "a", "output": "b"}\n{"input": "\xff", "output": "b"}\n')
    with pytest.raises(InputError, match=r"t\.jsonl:2: not valid UTF-8"):
        read_training_examples(path)
