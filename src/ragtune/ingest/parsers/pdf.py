"""PDF via pypdf: the text layer of each page, the title from the document's metadata.

pypdf raises many exception types on damaged or encrypted files; each becomes a one-line ParseError.
"""

from __future__ import annotations

import io

from pypdf import PdfReader
from pypdf.errors import DependencyError

from ragtune.errors import ParseError
from ragtune.ingest.parsers.pdf_layout import pdf_blocks
from ragtune.types import ParsedDocument


def parse_pdf(source: str, data: bytes) -> ParsedDocument:
    reader = _open_pdf(source, data)
    try:
        pages_text = [page.extract_text() or "" for page in reader.pages]
        metadata = reader.metadata
        title = str(metadata.title or "").strip() if metadata is not None else ""
    except Exception as exc:
        raise _pdf_failure(source, exc) from None
    if not any(text.strip() for text in pages_text):
        raise ParseError(source, "no extractable text (scanned PDF? run OCR first)")
    return ParsedDocument(" ".join(title.split()), tuple(pdf_blocks(pages_text, title)))


def _open_pdf(source: str, data: bytes) -> PdfReader:
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
    if isinstance(exc, DependencyError):
        # AES-encrypted PDFs, even ones that open without a password, need the optional crypto package.
        return ParseError(
            source,
            "encrypted PDF (AES) that needs the 'cryptography' package to read: "
            "pip install cryptography, or decrypt a copy first (e.g. qpdf --decrypt)",
        )
    return ParseError(source, f"not a readable PDF: {_short_reason(exc)}")


def _short_reason(exc: Exception) -> str:
    """One short line about a pypdf failure: the class name and the first line of its message."""
    message = str(exc).strip().split("\n", 1)[0]
    if len(message) > 100:
        message = message[:97] + "..."
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
