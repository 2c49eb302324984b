"""Read JSONL input files (corpora, eval sets, training sets): one JSON object a line, every problem named by
``file:line``. The one reader all of them use, so they accept and refuse the same things."""

from __future__ import annotations

import json
from pathlib import Path
from typing import BinaryIO, Iterator

from ragtune.errors import InputError


def json_type(value: object) -> str:
    """A value's type in JSON's words (what the user wrote), not Python's."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "string"


def _lines(handle: BinaryIO, max_line_bytes: int | None) -> Iterator[bytes]:
    """The file's lines; with a limit, a line longer than it comes back cut short (past the limit, never whole),
    so one enormous line costs at most the limit in memory. Two spare bytes leave room for a CRLF ending."""
    if max_line_bytes is None:
        yield from handle
        return
    while raw := handle.readline(max_line_bytes + 2):
        yield raw


def json_objects(path: Path, *, expected: str = "", max_line_bytes: int | None = None,
                 too_long: str = "") -> Iterator[tuple[str, int, dict]]:
    """(``file:line``, line number, object) for each non-blank line; raises :class:`InputError` at the first line
    that is not UTF-8, not JSON, or not an object. A byte-order mark is tolerated on the first line only, where
    editors put it. ``expected`` (e.g. "each line needs id and text") is appended to a not-an-object error.
    A line over ``max_line_bytes`` (line ending not counted) is an error too, with ``too_long`` as its reason
    (the caller knows which setting raises the limit)."""
    path = Path(path)
    hint = f"; {expected}" if expected else ""
    try:
        with path.open("rb") as handle:
            for number, raw in enumerate(_lines(handle, max_line_bytes), start=1):
                where = f"{path}:{number}"
                if max_line_bytes is not None and len(raw.rstrip(b"\r\n")) > max_line_bytes:
                    raise InputError(f"{where}: {too_long or f'line is longer than {max_line_bytes:,} bytes'}")
                try:
                    line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError as exc:
                    raise InputError(f"{where}: not valid UTF-8 (byte {exc.start + 1} of the line); save the file "
                                     "as UTF-8") from None
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line.rstrip("\r\n"))  # so error columns count on this line
                except json.JSONDecodeError as exc:
                    raise InputError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
                if not isinstance(obj, dict):
                    raise InputError(f"{where}: expected a JSON object, got {json_type(obj)}{hint}")
                yield where, number, obj
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
