"""Input limits: each hostile file ends in one per-file failure naming the file and the limit (and how to raise
it), while the other files of the same run are still indexed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from tests.conftest import write

from ragtune import Workspace
from ragtune.config import MIB, IngestConfig, Settings
from ragtune.errors import ParseError
from ragtune.ingest.parsers import parse_file, pdf
from ragtune.testing import FakeEmbedder
from ragtune.testing.pdf import write_bomb_pdf, write_text_pdf


def workspace(home: Path, **limits) -> Workspace:
    return Workspace(home, settings=Settings(home=home, ingest=IngestConfig(**limits)), embedder=FakeEmbedder())


def failures(report) -> dict[str, str]:
    return {Path(f.source).name: f.message for f in report.failed}


def refusal(path: Path, limits: IngestConfig | None = None) -> str:
    with pytest.raises(ParseError) as info:
        parse_file(path, limits)
    return str(info.value)


# ---- file size ---------------------------------------------------------------------------------------------


def test_a_file_over_the_size_limit_fails_alone_and_says_how_to_raise_the_limit(home: Path, tmp_path: Path):
    docs = tmp_path / "docs"
    write(docs / "small.md", "# Small\n\nFits easily.")
    write(docs / "big.txt", "word " * 600)  # 3,000 bytes
    report = workspace(home, max_file_bytes=2048).documents.ingest([docs])
    assert report.added == 1
    message = failures(report)["big.txt"]
    assert str(docs / "big.txt") in message
    assert "2.9 KiB" in message and "over the 2 KiB limit" in message and "RAGTUNE_MAX_FILE_MB=" in message


def test_the_size_is_checked_before_any_byte_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    big = write(tmp_path / "big.md", "x" * 5000)

    def no_reading(*args, **kwargs):
        raise AssertionError("the file was opened although its size is over the limit")

    monkeypatch.setattr(Path, "open", no_reading)
    monkeypatch.setattr(Path, "read_bytes", no_reading)
    assert "over the 1 KiB limit" in refusal(big, IngestConfig(max_file_bytes=1024))


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_file_whose_size_the_filesystem_does_not_know_is_read_only_up_to_the_limit(tmp_path: Path):
    endless = tmp_path / "endless.txt"
    endless.symlink_to("/dev/zero")  # stat says 0 bytes; reading never ends
    assert "over the 1 KiB limit" in refusal(endless, IngestConfig(max_file_bytes=1024))


def test_the_default_size_limit_is_64_mib_and_the_environment_can_raise_it(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("RAGTUNE_MAX_FILE_MB", raising=False)
    assert IngestConfig().max_file_bytes == 64 * MIB
    monkeypatch.setenv("RAGTUNE_MAX_FILE_MB", "128")
    assert IngestConfig().max_file_bytes == 128 * MIB


# ---- corpus .jsonl -----------------------------------------------------------------------------------------


def test_a_corpus_may_be_larger_than_the_file_limit_when_each_line_fits(home: Path, tmp_path: Path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("\n".join(json.dumps({"id": f"d{i}", "text": f"document {i} " + "x" * 500})
                                for i in range(10)))
    assert corpus.stat().st_size > 4096
    report = workspace(home, max_file_bytes=1024).documents.ingest([corpus])
    assert report.added == 10 and report.failed == []


def test_a_corpus_line_over_the_limit_names_its_line_and_the_other_inputs_still_ingest(home: Path, tmp_path: Path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"id": "a", "text": "fine"}) + "\n"
                      + json.dumps({"id": "b", "text": "y" * 3000}) + "\n")
    other = write(tmp_path / "notes.md", "# Notes\n\nStill indexed.")
    report = workspace(home, max_file_bytes=1024).documents.ingest([corpus, other])
    assert report.added == 1  # notes.md; the corpus is refused whole, as for any bad line
    message = failures(report)["c.jsonl"]
    assert f"{corpus}:2:" in message and "line is over the 1 KiB limit" in message
    assert "RAGTUNE_MAX_FILE_MB=" in message


# ---- PDF ---------------------------------------------------------------------------------------------------


def test_a_pdf_over_the_default_page_cap_is_refused_before_extraction(tmp_path: Path):
    path = tmp_path / "many.pdf"
    write_text_pdf(path, [["page text"]] * 2001)
    message = refusal(path, IngestConfig())
    assert str(path) in message
    assert "2,001 pages is over the 2,000-page limit" in message and "RAGTUNE_MAX_PDF_PAGES=" in message


def test_a_pdf_at_the_page_cap_is_read(tmp_path: Path):
    path = tmp_path / "three.pdf"
    write_text_pdf(path, [["one"], ["two"], ["three"]])
    assert [b.text for b in parse_file(path, IngestConfig(max_pdf_pages=3)).blocks] == ["one two three"]


def test_pdf_extraction_stops_between_pages_once_the_time_limit_has_passed(tmp_path: Path):
    path = tmp_path / "slow.pdf"
    write_text_pdf(path, [[f"page {n}"] for n in range(1, 6)])
    ticks = iter(range(100))  # a clock that advances one second each time it is read: at start, after each page
    with pytest.raises(ParseError) as info:
        pdf.parse_pdf(str(path), path.read_bytes(), IngestConfig(max_pdf_seconds=2.5), clock=lambda: next(ticks))
    assert "longer than the 2.5 s limit" in info.value.reason and "after page 3 of 5" in info.value.reason
    assert "RAGTUNE_MAX_PDF_SECONDS=5" in info.value.reason


def test_a_pdf_decompression_bomb_is_a_per_file_failure(home: Path, tmp_path: Path):
    docs = tmp_path / "docs"
    write(docs / "fine.md", "# Fine\n\nA normal document.")
    write_bomb_pdf(docs / "bomb.pdf", inflated_bytes=80_000_000)  # past pypdf's 75 MB cap
    assert (docs / "bomb.pdf").stat().st_size < 1 * MIB
    report = workspace(home).documents.ingest([docs])
    assert report.added == 1
    message = failures(report)["bomb.pdf"]
    assert str(docs / "bomb.pdf") in message and "decompression bomb" in message
    assert "\n" not in message


def test_a_small_flate_stream_from_the_bomb_writer_reads_normally(tmp_path: Path):
    path = tmp_path / "small.pdf"
    write_bomb_pdf(path, inflated_bytes=10_000, text="Compressed but harmless.")
    assert [b.text for b in parse_file(path).blocks] == ["Compressed but harmless."]
