"""Markdown tables for the benchmark scripts and for ``bench/render.py`` (no dependencies beyond the stdlib)."""

from __future__ import annotations

import re
from collections.abc import Sequence

_NUMERIC = re.compile(r"[-+]?[\d.,]+( ?[x%s]|ms)?")


def fmt(value, digits: int = 3) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def check_mark(ok: bool) -> str:
    return "met" if ok else "MISSED"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence], digits: int = 3) -> str:
    """A GitHub markdown table, columns padded to their widest cell; numeric columns right-aligned."""
    cells = [[fmt(v, digits) for v in row] for row in rows]
    widths = [max([len(str(h)), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    numeric = [bool(cells) and all(_NUMERIC.fullmatch(r[i]) for r in cells) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        padded = (v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric))
        return "| " + " | ".join(padded) + " |"

    rule = (
        "|"
        + "|".join(("-" * (w + 1) + ":") if num else ("-" * (w + 2)) for w, num in zip(widths, numeric))
        + "|"
    )
    return "\n".join([line([str(h) for h in headers]), rule, *(line(r) for r in cells)])
