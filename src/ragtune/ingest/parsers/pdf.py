"""PDF via pypdf: the text layer of each page, the title from the document's metadata.

pypdf raises many exception types on damaged or encrypted files; each becomes a one-line ParseError. A PDF's
cost is not bounded by its size — a small file can declare thousands of pages or hold a stream that inflates to
gigabytes — so the page count is checked before any text is extracted, the time spent is checked between pages,
and pypdf's own decompression limits (see the version floor in pyproject.toml) cap each stream.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ragtune.config import IngestConfig
from ragtune.errors import ParseError
from ragtune.ingest.parsers.pdf_layout import pdf_blocks
from ragtune.types import ParsedDocument

if TYPE_CHECKING:
    from pypdf import PdfReader


def parse_pdf(source: str, data: bytes, limits: IngestConfig,
              clock: Callable[[], float] = time.monotonic) -> ParsedDocument:
    deadline = clock() + limits.max_pdf_seconds
    reader = _open_pdf(source, data)
    try:
        pages = reader.pages
        _check_page_count(source, len(pages), limits.max_pdf_pages)
        pages_text: list[str] = []
        for page in pages:
            pages_text.append(page.extract_text() or "")
            # Cooperative: a page in progress is not interrupted (pypdf's stream limits bound one page), but no
            # further page starts once the time is up. A thread or signal could stop it mid-page, but would
            # leave pypdf's state (and the process's) undefined.
            if clock() > deadline:
                raise ParseError(source, _too_slow(len(pages_text), len(pages), limits.max_pdf_seconds))
        metadata = reader.metadata
        title = str(metadata.title or "").strip() if metadata is not None else ""
    except ParseError:
        raise
    except Exception as exc:
        raise _pdf_failure(source, exc) from None
    if not any(text.strip() for text in pages_text):
        raise ParseError(source, "no extractable text (scanned PDF? run OCR first)")
    return ParsedDocument(" ".join(title.split()), tuple(pdf_blocks(pages_text, title)))


def _check_page_count(source: str, pages: int, max_pages: int) -> None:
    if pages > max_pages:
        raise ParseError(source, f"{pages:,} pages is over the {max_pages:,}-page limit for one PDF; split it, or "
                                 f"raise the limit (RAGTUNE_MAX_PDF_PAGES={2 * max_pages})")


def _too_slow(done: int, total: int, seconds: float) -> str:
    return (f"text extraction took longer than the {seconds:g} s limit for one PDF (stopped after page {done} of "
            f"{total}); split it, or raise the limit (RAGTUNE_MAX_PDF_SECONDS={2 * seconds:g})")


def _open_pdf(source: str, data: bytes) -> PdfReader:
    from pypdf import PdfReader  # imported here: it costs every CLI command ~0.2 s, and only PDFs need it

    try:
        reader = PdfReader(io.BytesIO(data))  # also tries the empty password on an encrypted file
        opened = reader.decrypt("") if reader.is_encrypted else True
    except Exception as exc:
        raise _pdf_failure(source, exc) from None
    if not opened:
        raise ParseError(source, "encrypted PDF that needs a password; decrypt a copy first (qpdf --decrypt)")
    return reader


def _pdf_failure(source: str, exc: Exception) -> ParseError:
    """Turn any pypdf exception into a one-line ParseError (pypdf raises many exception types)."""
    from pypdf.errors import DependencyError, LimitReachedError

    if isinstance(exc, DependencyError):
        # AES-encrypted PDFs, even ones that open without a password, need the optional crypto package.
        return ParseError(
            source,
            "encrypted PDF (AES) that needs the 'cryptography' package to read: "
            "pip install cryptography, or decrypt a copy first (e.g. qpdf --decrypt)",
        )
    if isinstance(exc, LimitReachedError):
        # pypdf stopped inflating a stream at its safety limit: a decompression bomb, or a PDF far larger
        # inside than its file size says. Either way not something to index.
        return ParseError(source, f"a compressed stream expands past pypdf's safety limit (decompression bomb?); "
                                  f"if the file is genuine, convert it to text first, e.g. with pdftotext "
                                  f"({_short_reason(exc)})")
    return ParseError(source, f"not a readable PDF: {_short_reason(exc)}")


def _short_reason(exc: Exception) -> str:
    """One short line about a pypdf failure: the class name and the first line of its message."""
    message = str(exc).strip().split("\n", 1)[0]
    if len(message) > 100:
        message = message[:97] + "..."
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
