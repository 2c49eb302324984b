"""A tiny PDF writer for tests and the demo corpus.

Real PDFs are needed to test the PDF parser, but a PDF-generation library just for that is not worth a
dependency. A text-only PDF is small enough to write by hand: a catalog, a page tree, one standard font
(Helvetica needs no embedding), one content stream per page and a cross-reference table of byte offsets.
:func:`write_bomb_pdf` writes a hostile one for the parser's limits.
"""

from __future__ import annotations

import zlib
from pathlib import Path

# US Letter in points; text starts one inch from the top-left corner.
_PAGE_WIDTH = 612
_PAGE_HEIGHT = 792
_MARGIN = 72
_FONT_SIZE = 10
_LEADING = 14
MAX_LINES_PER_PAGE = (_PAGE_HEIGHT - 2 * _MARGIN) // _LEADING


def _literal(text: str) -> bytes:
    """Encode ``text`` as a PDF literal string for a WinAnsi (cp1252) font.

    Parentheses and backslashes would end or escape the string, and raw non-ASCII bytes are legal but easy to
    mangle, so both are written as escapes; characters cp1252 cannot hold become '?'.
    """
    out = bytearray(b"(")
    for byte in text.encode("cp1252", errors="replace"):
        if byte in b"()\\":
            out += b"\\" + bytes([byte])
        elif 32 <= byte < 127:
            out.append(byte)
        else:
            out += b"\\%03o" % byte
    out += b")"
    return bytes(out)


def _info_string(text: str) -> bytes:
    """Encode a document-information string: ASCII as a literal, anything else as UTF-16BE with a BOM."""
    if text.isascii():
        return _literal(text)
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode() + b">"


def _content_stream(lines: list[str]) -> bytes:
    """Draw ``lines`` top to bottom; an empty string leaves an empty line (a visual paragraph gap)."""
    if not lines:
        return b""
    ops = [
        b"BT",
        b"/F1 %d Tf" % _FONT_SIZE,
        b"%d TL" % _LEADING,
        b"%d %d Td" % (_MARGIN, _PAGE_HEIGHT - _MARGIN),
    ]
    for index, line in enumerate(lines):
        if index:
            ops.append(b"T*")
        if line:
            ops.append(_literal(line) + b" Tj")
    ops.append(b"ET")
    return b"\n".join(ops) + b"\n"


def write_text_pdf(path: Path, pages: list[list[str]], title: str = "") -> None:
    """Write a valid PDF with one page per entry of ``pages``, each a list of text lines in Helvetica.

    ``title`` becomes the document-information /Title when non-empty. A page with no lines has no text at all,
    which is how tests imitate a scanned PDF. Lines are not wrapped: keep them under ~95 characters.
    """
    if not pages:
        raise ValueError("write_text_pdf needs at least one page (pass [[]] for one blank page)")
    for number, lines in enumerate(pages, start=1):
        if len(lines) > MAX_LINES_PER_PAGE:
            raise ValueError(
                f"page {number} has {len(lines)} lines; at most {MAX_LINES_PER_PAGE} fit: split it into pages"
            )

    # Object numbers: 1 catalog, 2 page tree, 3 font, a (page, content) pair per page, then the info dict.
    streams = [b"<< /Length %d >>\nstream\n" % len(c) + c + b"endstream" for c in map(_content_stream, pages)]
    objects = _page_objects(streams)
    info_id = 0
    if title:
        objects.append(b"<< /Title " + _info_string(title) + b" /Producer (ragtune.testing.pdf) >>")
        info_id = len(objects)
    Path(path).write_bytes(_assemble(objects, info_id))


def write_bomb_pdf(path: Path, inflated_bytes: int, text: str = "Bomb page.") -> None:
    """Write a one-page PDF whose content stream is small on disk but FlateDecode-inflates to
    ``inflated_bytes``: the page's ``text`` followed by spaces (zlib shrinks runs of one byte about 1000-fold, so
    80 MB costs ~80 KB of file). A decompression bomb, for testing that parsing stops at a limit."""
    content = _content_stream([text])
    deflate = zlib.compressobj(9)
    packed = deflate.compress(content)
    block = b" " * (1 << 20)
    for start in range(0, max(0, inflated_bytes - len(content)), len(block)):  # never the whole thing in memory
        packed += deflate.compress(block[: inflated_bytes - len(content) - start])
    packed += deflate.flush()
    stream = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed) + packed + b"\nendstream"
    Path(path).write_bytes(_assemble(_page_objects([stream]), 0))


def _page_objects(streams: list[bytes]) -> list[bytes]:
    """Catalog, page tree, font, then a (page, content stream) pair per page: objects 1, 2, 3, 4 and 5, …"""
    page_ids = [4 + 2 * i for i in range(len(streams))]
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"%d 0 R" % pid for pid in page_ids), len(streams)),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for page_id, stream in zip(page_ids, streams, strict=True):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 3 0 R >> >>"
            b" /Contents %d 0 R >>" % (_PAGE_WIDTH, _PAGE_HEIGHT, page_id + 1)
        )
        objects.append(stream)
    return objects


def _assemble(objects: list[bytes], info_id: int) -> bytes:
    """The file: header, numbered objects, the cross-reference table of their byte offsets, the trailer."""
    # The binary comment on line two tells transfer tools the file is binary, as the PDF spec recommends.
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets: list[int] = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_offset = len(out)
    # Each xref entry must be exactly 20 bytes, hence the space before the newline.
    out += b"xref\n0 %d\n" % (len(objects) + 1)
    out += b"0000000000 65535 f \n"
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    trailer = b"<< /Size %d /Root 1 0 R" % (len(objects) + 1)
    if info_id:
        trailer += b" /Info %d 0 R" % info_id
    out += b"trailer\n" + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref_offset
    return bytes(out)
