"""Read JSONL input files: one JSON object a line, every problem named by ``file:line``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from ragtune.errors import InputError


def json_objects(path: Path) -> Iterator[tuple[str, int, dict]]:
    """(``file:line``, line number, object) for each non-blank line; raises :class:`InputError` at the first line
    that is not UTF-8, not JSON, or not an object."""
    with Path(path).open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            where = f"{path}:{number}"
            try:
                line = raw.decode("utf-8").strip()
            except UnicodeDecodeError:
                raise InputError(f"{where}: not valid UTF-8") from None
            if not line:
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{where}: invalid JSON ({exc.msg} at column {exc.colno})") from None
            if not isinstance(obj, dict):
                raise InputError(f"{where}: expected a JSON object, got {type(obj).__name__}")
            yield where, number, obj
