"""Size limits on ingest input, in one place: reading a file without reading past the limit, and the message
that names the limit and how to raise it (the other limits live with their format, e.g. the PDF parser's)."""

from __future__ import annotations

from pathlib import Path

from ragtune.config import MIB
from ragtune.errors import ParseError


def size_text(n_bytes: int) -> str:
    """A byte count for people: "80.5 MiB", "512 KiB" (limits are set in MiB, so they read the same)."""
    if n_bytes >= MIB:
        return f"{n_bytes / MIB:.1f}".removesuffix(".0") + " MiB"
    return f"{n_bytes / 1024:.1f}".removesuffix(".0") + " KiB"


def too_large(what: str, size: int | None, max_bytes: int) -> str:
    """The reason a file (or corpus line) over the size limit is refused, with the setting that raises it."""
    raise_to = max(1, round(2 * max_bytes / MIB))
    found = f" ({size_text(size)})" if size is not None else ""
    return (f"{what}{found} is over the {size_text(max_bytes)} limit for one document; split it, or raise the "
            f"limit (RAGTUNE_MAX_FILE_MB={raise_to})")


def read_limited(path: Path, source: str, max_bytes: int) -> bytes:
    """The bytes of ``path``, refusing a file over ``max_bytes`` with a ParseError naming the limit.

    The size is checked before anything is read, and the read itself stops one byte past the limit, so a file
    that grows meanwhile, or a special file whose size the filesystem does not know (a symlink to /dev/zero),
    costs at most ``max_bytes`` of memory."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ParseError(source, too_large("file", size, max_bytes))
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise ParseError(source, f"cannot read file ({exc.strerror or exc})") from None
    if len(data) > max_bytes:
        raise ParseError(source, too_large("file", None, max_bytes))
    return data
