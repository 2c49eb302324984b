"""The hand-written PDF writer the parser tests and the demo corpus rely on."""

from __future__ import annotations

from pathlib import Path

import pytest
from pypdf import PdfReader

from ragtune.testing.pdf import write_text_pdf


def test_pdf_writer_rejects_pages_that_do_not_fit(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="split it into pages"):
        write_text_pdf(tmp_path / "x.pdf", [["line"] * 200])


def test_pdf_writer_output_is_strictly_valid(tmp_path: Path) -> None:
    path = tmp_path / "x.pdf"
    write_text_pdf(path, [["one"], ["two"]], title="T")
    reader = PdfReader(path, strict=True)  # strict mode fails on a wrong xref offset
    assert [page.extract_text() for page in reader.pages] == ["one", "two"]
