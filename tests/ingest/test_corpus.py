"""Specification of read_corpus: a .jsonl corpus in, validated records out, or one error naming the line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ragtune.errors import InputError
from ragtune.ingest.corpus import CorpusRecord, read_corpus


def write_lines(tmp_path: Path, *lines: str | bytes, name: str = "corpus.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(b"".join((line if isinstance(line, bytes) else line.encode()) + b"\n" for line in lines))
    return path


def corpus_error(path: Path) -> str:
    with pytest.raises(InputError) as info:
        read_corpus(path)
    message = str(info.value)
    assert "\n" not in message  # one line for the CLI
    return message


def test_reads_each_line_as_a_record(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path,
        '{"id": "a", "title": "Alpha", "text": "First document."}',
        '{"id": "b", "text": "Second document, no title."}',
    )
    assert read_corpus(path) == [
        CorpusRecord("a", "Alpha", "First document.", {}, 1,
                     b'{"id": "a", "text": "First document.", "title": "Alpha"}'),
        CorpusRecord("b", "", "Second document, no title.", {}, 2,
                     b'{"id": "b", "text": "Second document, no title."}'),
    ]  # fmt: skip


def test_other_keys_become_string_metadata(tmp_path: Path) -> None:
    line = {
        "id": "a", "text": "t", "source": "wiki", "year": 2024, "score": 0.5, "public": True, "draft": False,
        "tags": ["x", "y"], "extra": {"b": 1, "a": 2}, "missing": None,
    }  # fmt: skip
    [record] = read_corpus(write_lines(tmp_path, json.dumps(line)))
    assert record.metadata == {
        "source": "wiki", "year": "2024", "score": "0.5", "public": "true", "draft": "false",
        "tags": '["x", "y"]', "extra": '{"a": 2, "b": 1}', "missing": "null",
    }  # fmt: skip


def test_raw_is_canonical_so_formatting_does_not_matter_but_content_does(tmp_path: Path) -> None:
    compact = read_corpus(write_lines(tmp_path, '{"text":"caf\\u00e9","id":"a","k":1}', name="one.jsonl"))[0]
    spaced = read_corpus(write_lines(tmp_path, '{ "id" : "a", "k": 1, "text": "café" }', name="two.jsonl"))[0]
    edited = read_corpus(write_lines(tmp_path, '{"id": "a", "k": 2, "text": "café"}', name="three.jsonl"))[0]
    assert compact.raw == spaced.raw == '{"id": "a", "k": 1, "text": "café"}'.encode()
    assert edited.raw != compact.raw


def test_integer_ids_are_accepted_as_strings(tmp_path: Path) -> None:
    [record] = read_corpus(write_lines(tmp_path, '{"id": 42, "text": "t"}'))
    assert record.doc_id == "42"


def test_blank_lines_are_skipped_and_line_numbers_stay_true(tmp_path: Path) -> None:
    path = write_lines(tmp_path, "", '{"id": "a", "text": "t"}', "   ", "", '{"id": "b", "text": "u"}', "")
    assert [(r.doc_id, r.line) for r in read_corpus(path)] == [("a", 2), ("b", 5)]


def test_windows_line_endings_and_a_bom_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"id": "a", "text": "t"}\r\n{"id": "b", "text": "u"}\r\n')
    assert [r.doc_id for r in read_corpus(path)] == ["a", "b"]


@pytest.mark.parametrize("content", [b"", b"\n\n   \n"])
def test_empty_corpus_is_an_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "corpus.jsonl"
    path.write_bytes(content)
    message = corpus_error(path)
    assert message.startswith(f"{path}: corpus file is empty")


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    assert "nope.jsonl: cannot read" in corpus_error(tmp_path / "nope.jsonl")


@pytest.mark.parametrize(
    ("bad_line", "expected"),
    [
        ('{"id": "x", "text": ', "not valid JSON (Expecting value at column 21)"),
        ("not json", "not valid JSON (Expecting value at column 1)"),
        ('["id", "text"]', "expected a JSON object, got array"),
        ('"just a string"', "expected a JSON object, got string"),
        ('{"text": "t"}', "missing 'id'"),
        ('{"id": "", "text": "t"}', "'id' is empty"),
        ('{"id": "  ", "text": "t"}', "'id' is empty"),
        ('{"id": null, "text": "t"}', "'id' must be a string, got null"),
        ('{"id": 1.5, "text": "t"}', "'id' must be a string, got number 1.5"),
        ('{"id": true, "text": "t"}', "'id' must be a string, got boolean true"),
        ('{"id": ["a"], "text": "t"}', "'id' must be a string, got array"),
        ('{"id": "x"}', "missing 'text' for id 'x'"),
        ('{"id": "x", "text": 3}', "'text' must be a string, got number (id 'x')"),
        ('{"id": "x", "text": null}', "'text' must be a string, got null (id 'x')"),
        ('{"id": "x", "text": ""}', "'text' is empty for id 'x'"),
        ('{"id": "x", "text": " \\n\\t "}', "'text' is empty for id 'x'"),
        ('{"id": "x", "text": "t", "title": 7}', "'title' must be a string, got number (id 'x')"),
        ('{"id": "x", "text": "t", "title": null}', "'title' must be a string, got null (id 'x')"),
    ],
)
def test_bad_line_is_reported_with_path_and_line_number(tmp_path: Path, bad_line: str, expected: str) -> None:
    path = write_lines(tmp_path, '{"id": "ok", "text": "fine"}', "", bad_line, '{"id": "later", "text": "t"}')
    message = corpus_error(path)
    assert message.startswith(f"{path}:3: {expected}")


def test_duplicate_id_names_both_lines(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path, '{"id": "a", "text": "t"}', '{"id": "b", "text": "t"}', '{"id": "a", "text": "again"}'
    )
    assert corpus_error(path) == f"{path}:3: duplicate id 'a' (first seen on line 1)"


def test_integer_and_string_forms_of_an_id_are_the_same_id(tmp_path: Path) -> None:
    path = write_lines(tmp_path, '{"id": 7, "text": "t"}', '{"id": "7", "text": "t"}')
    assert corpus_error(path) == f"{path}:2: duplicate id '7' (first seen on line 1)"


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path, '{"id": "a", "text": "t"}', '{"id": "b", "text": "caf\xe9"}'.encode("latin-1")
    )
    message = corpus_error(path)
    assert message.startswith(f"{path}:2: not valid UTF-8")


def test_lone_surrogate_escape_is_rejected(tmp_path: Path) -> None:
    path = write_lines(tmp_path, '{"id": "a", "text": "broken \\ud800 text"}')
    assert corpus_error(path).startswith(f"{path}:1: contains a lone surrogate escape")


def test_an_error_anywhere_means_no_records_at_all(tmp_path: Path) -> None:
    good = [json.dumps({"id": f"d{i}", "text": f"document {i}"}) for i in range(50)]
    path = write_lines(tmp_path, *good, '{"id": "d0", "text": "duplicate at the end"}')
    assert corpus_error(path) == f"{path}:51: duplicate id 'd0' (first seen on line 1)"


_json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10))
_metadata = st.dictionaries(
    st.text(min_size=1, max_size=8).filter(lambda k: k not in {"id", "title", "text"}),
    st.one_of(_json_scalars, st.lists(_json_scalars, max_size=3)),
    max_size=4,
)


@given(
    doc_id=st.text(min_size=1, max_size=12).filter(str.strip),
    title=st.text(max_size=20),
    text=st.text(min_size=1, max_size=60).filter(str.strip),
    metadata=_metadata,
)
def test_any_valid_object_round_trips(
    tmp_path_factory: pytest.TempPathFactory, doc_id: str, title: str, text: str, metadata: dict
) -> None:
    obj = {**metadata, "id": doc_id, "title": title, "text": text}
    path = tmp_path_factory.mktemp("corpus") / "c.jsonl"
    path.write_text(json.dumps(obj) + "\n", encoding="utf-8")
    [record] = read_corpus(path)
    assert (record.doc_id, record.title, record.text, record.line) == (doc_id, title, text, 1)
    assert set(record.metadata) == set(metadata)
    assert all(isinstance(value, str) for value in record.metadata.values())
    assert json.loads(record.raw) == obj
