"""Read a corpus ``.jsonl``: one JSON object a line, ``{"id", "title", "text", ...metadata}``.

The whole file is validated before anything is returned, so a bad line 90,000 never leaves half a corpus
indexed. The file is read line by line because a corpus can be hundreds of megabytes; only the records are
kept in memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragtune.errors import InputError
from ragtune.ingest.limits import too_large
from ragtune.jsonl import json_objects, json_type

_RESERVED_KEYS = frozenset({"id", "title", "text"})
_EXPECTED = 'each line must be a JSON object like {"id": "doc-1", "title": "...", "text": "..."}'


@dataclass(frozen=True)
class CorpusRecord:
    """One corpus line.

    ``raw`` is the canonical JSON of the line's object (sorted keys), so re-formatting the file does not count
    as a change but editing any field, metadata included, does. ``line`` is 1-based.
    """

    doc_id: str
    title: str
    text: str
    metadata: dict[str, str]
    line: int
    raw: bytes


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and real characters (not \\u escapes): the same data always gives one text."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _metadata_value(value: Any) -> str:
    """Flatten a metadata value to a string; metadata filters compare strings."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):  # before int: bool is a subclass of int
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return canonical_json(value)


def _record(where: str, line: int, obj: dict) -> CorpusRecord:
    if "id" not in obj:
        raise InputError(f"{where}: missing 'id'; give every document a unique string id")
    raw_id = obj["id"]
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        doc_id = str(raw_id)
    elif isinstance(raw_id, str):
        doc_id = raw_id
    else:
        raise InputError(f"{where}: 'id' must be a string, got {json_type(raw_id)} {canonical_json(raw_id)}")
    if not doc_id.strip():
        raise InputError(f"{where}: 'id' is empty; give every document a unique non-empty id")

    if "text" not in obj:
        raise InputError(f"{where}: missing 'text' for id {doc_id!r}; each document needs its text")
    text = obj["text"]
    if not isinstance(text, str):
        raise InputError(f"{where}: 'text' must be a string, got {json_type(text)} (id {doc_id!r})")
    if not text.strip():
        raise InputError(f"{where}: 'text' is empty for id {doc_id!r}; remove the line or add its text")

    title = obj.get("title", "")
    if not isinstance(title, str):
        raise InputError(
            f"{where}: 'title' must be a string, got {json_type(title)} (id {doc_id!r}); "
            "use a string or leave it out"
        )

    try:
        raw = canonical_json(obj).encode("utf-8")
    except UnicodeEncodeError:
        # json accepts escapes like "\ud800" that are not characters; they would break every later stage.
        raise InputError(
            f"{where}: contains a lone surrogate escape (\\ud800-\\udfff) (id {doc_id!r}); "
            "fix the text's encoding"
        ) from None
    metadata = {key: _metadata_value(value) for key, value in obj.items() if key not in _RESERVED_KEYS}
    return CorpusRecord(
        doc_id=doc_id,
        title=title,
        text=text,
        metadata=metadata,
        line=line,
        raw=raw,
    )


def read_corpus(path: Path, max_line_bytes: int | None = None) -> list[CorpusRecord]:
    """Read and validate every line of the corpus at ``path``; blank lines are skipped.

    Raises :class:`InputError` (``"{path}:{line}: ..."``) for the first bad line: invalid UTF-8 or JSON, a
    non-object, a missing/empty/non-string id or text, a non-string title, an id seen before, or a line over
    ``max_line_bytes`` (each line is one document). Integer ids are accepted and turned into strings.
    """
    path = Path(path)
    records: list[CorpusRecord] = []
    first_seen: dict[str, int] = {}
    too_long = too_large("line", None, max_line_bytes) if max_line_bytes is not None else ""
    lines = json_objects(path, expected=_EXPECTED, max_line_bytes=max_line_bytes, too_long=too_long)
    for where, line_number, obj in lines:
        record = _record(where, line_number, obj)
        first_line = first_seen.get(record.doc_id)
        if first_line is not None:
            raise InputError(f"{where}: duplicate id {record.doc_id!r} (first seen on line {first_line})")
        first_seen[record.doc_id] = line_number
        records.append(record)
    if not records:
        raise InputError(f"{path}: corpus file is empty; {_EXPECTED}")
    return records
