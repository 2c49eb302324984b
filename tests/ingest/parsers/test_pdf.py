"""PDF files: title from metadata, paragraphs and headings from the text layer, unreadable files explained."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.errors import DependencyError
from tests.ingest.parsers.helpers import EXAMPLES, kinds, parse_error, texts, write

from ragtune.ingest.parsers import parse_file
from ragtune.testing.pdf import write_text_pdf
from ragtune.types import Block


def test_pdf_title_comes_from_metadata_and_is_its_first_heading(tmp_path: Path) -> None:
    path = tmp_path / "doc.pdf"
    write_text_pdf(path, [["Retrieval Notes", "Retrieval finds passages for the model to read."]],
                   title="Retrieval Notes")  # fmt: skip
    doc = parse_file(path)
    assert doc.title == "Retrieval Notes"
    assert doc.blocks == (
        Block("heading", "Retrieval Notes", 1),
        Block("paragraph", "Retrieval finds passages for the model to read."),
    )


def test_pdf_without_metadata_title_has_empty_title(tmp_path: Path) -> None:
    path = tmp_path / "doc.pdf"
    write_text_pdf(path, [["Some text here."]])
    assert parse_file(path).title == ""


def test_pdf_metadata_title_with_non_ascii_characters(tmp_path: Path) -> None:
    path = tmp_path / "doc.pdf"
    write_text_pdf(path, [["Body text."]], title="Caf\u00e9 \u2014 notes")
    assert parse_file(path).title == "Caf\u00e9 \u2014 notes"


def test_pdf_wrapped_lines_join_into_paragraphs_at_sentence_ends(tmp_path: Path) -> None:
    path = tmp_path / "doc.pdf"
    write_text_pdf(path, [[
        "Retrieval puts the relevant passage in the prompt at question time, which means the",
        "model does not need to memorise facts.",
        "Fine-tuning changes the weights. It teaches a format, a tone or a",
        "skill that examples show better than instructions do.",
    ]])  # fmt: skip
    assert parse_file(path).blocks == (
        Block(
            "paragraph",
            "Retrieval puts the relevant passage in the prompt at question time, which means the "
            "model does not need to memorise facts.",
        ),
        Block(
            "paragraph",
            "Fine-tuning changes the weights. It teaches a format, a tone or a skill that examples "
            "show better than instructions do.",
        ),
    )


def test_pdf_words_hyphenated_across_lines_are_rejoined(tmp_path: Path) -> None:
    path = tmp_path / "doc.pdf"
    write_text_pdf(
        path, [["Use a held-out set as an exam-", "ple of real questions, not Fine-", "Tuning data."]]
    )
    assert texts(parse_file(path)) == [
        "Use a held-out set as an example of real questions, not Fine-Tuning data."
    ]


def test_pdf_special_characters_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "doc.pdf"
    write_text_pdf(path, [["Parentheses (like these) and a back\\slash survive, as does caf\u00e9."]])
    assert texts(parse_file(path)) == [
        "Parentheses (like these) and a back\\slash survive, as does caf\u00e9."
    ]


def test_pdf_headings_and_bullets_are_recognised_conservatively(tmp_path: Path) -> None:
    path = tmp_path / "doc.pdf"
    write_text_pdf(path, [[
        "When to Use Retrieval",
        "Use retrieval when answers depend on documents that change or that the model never saw.",
        "- Facts change weekly.",
        "- Answers must cite",
        "WHEN TO FINE-TUNE",
        "Fine-tune when the model knows enough but answers in the wrong format or tone.",
        "Short Title Case Line",
    ]])  # fmt: skip
    assert parse_file(path).blocks == (
        Block("heading", "When to Use Retrieval", 2),
        Block("paragraph", "Use retrieval when answers depend on documents that change or that the model "
                           "never saw."),
        Block("list_item", "Facts change weekly."),
        Block("list_item", "Answers must cite"),
        Block("heading", "WHEN TO FINE-TUNE", 2),
        Block("paragraph", "Fine-tune when the model knows enough but answers in the wrong format or tone."),
        # Not a heading: nothing follows it.
        Block("paragraph", "Short Title Case Line"),
    )  # fmt: skip


def test_pdf_sentence_case_short_line_is_not_a_heading(tmp_path: Path) -> None:
    path = tmp_path / "doc.pdf"
    write_text_pdf(
        path, [["This is short.", "A longer paragraph follows here and goes on for a while, as they do."]]
    )
    assert kinds(parse_file(path)) == ["paragraph", "paragraph"]


def test_pdf_pages_are_read_in_order_and_a_paragraph_may_cross_a_page_break(tmp_path: Path) -> None:
    path = tmp_path / "doc.pdf"
    write_text_pdf(path, [
        ["Page one starts here.", "This sentence runs over the page"],
        ["break and ends on page two.", "Page two has its own paragraph.", "2"],
    ])  # fmt: skip
    assert texts(parse_file(path)) == [
        "Page one starts here.",
        "This sentence runs over the page break and ends on page two.",
        "Page two has its own paragraph.",  # the trailing page number is dropped
    ]


def test_pdf_with_no_text_layer_asks_for_ocr(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    write_text_pdf(path, [[], []])
    assert parse_error(path).reason == "no extractable text (scanned PDF? run OCR first)"


def test_truncated_pdf_is_not_readable(tmp_path: Path) -> None:
    good = tmp_path / "good.pdf"
    write_text_pdf(good, [["Some text that will be cut off."]])
    path = write(tmp_path, "cut.pdf", good.read_bytes()[:60])
    error = parse_error(path)
    assert error.reason.startswith("not a readable PDF: ")
    assert "Traceback" not in error.reason and "\n" not in error.reason


def test_garbage_with_a_pdf_name_is_not_readable(tmp_path: Path) -> None:
    path = write(tmp_path, "fake.pdf", b"this is not a pdf at all, just text pretending\n" * 3)
    assert parse_error(path).reason.startswith("not a readable PDF: ")


def encrypted_copy(source: Path, target: Path, user_password: str) -> None:
    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="RC4-128")
    buffer = BytesIO()
    writer.write(buffer)
    target.write_bytes(buffer.getvalue())


def test_encrypted_pdf_needing_a_password_is_rejected(tmp_path: Path) -> None:
    plain = tmp_path / "plain.pdf"
    write_text_pdf(plain, [["Secret text."]])
    locked = tmp_path / "locked.pdf"
    encrypted_copy(plain, locked, user_password="hunter2")
    reason = parse_error(locked).reason
    assert "encrypted" in reason and "password" in reason


def test_encrypted_pdf_with_empty_user_password_opens(tmp_path: Path) -> None:
    plain = tmp_path / "plain.pdf"
    write_text_pdf(plain, [["Readable without a password."]])
    locked = tmp_path / "owner-only.pdf"
    encrypted_copy(plain, locked, user_password="")
    assert texts(parse_file(locked)) == ["Readable without a password."]


def test_aes_pdf_without_the_crypto_package_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pypdf raises DependencyError for AES encryption when `cryptography` is missing; imitate that here, since
    # writing a real AES-encrypted PDF needs the very package that is missing.
    def reader_needing_crypto(stream: object) -> None:
        raise DependencyError("cryptography>=3.1 is required for AES algorithm")

    monkeypatch.setattr("pypdf.PdfReader", reader_needing_crypto)  # pdf.py imports it when it opens a file
    path = tmp_path / "aes.pdf"
    write_text_pdf(path, [["Text."]])
    reason = parse_error(path).reason
    assert "encrypted PDF (AES)" in reason and "pip install cryptography" in reason


def test_demo_pdf_round_trips_its_source_paragraphs() -> None:
    source = (EXAMPLES.parent / "rag-vs-finetuning.txt.src").read_text(encoding="utf-8")
    expected_paragraphs = [" ".join(p.split()) for p in source.split("\n\n") if p.strip()]
    parsed = [" ".join(block.text.split()) for block in parse_file(EXAMPLES / "rag-vs-finetuning.pdf").blocks]
    # Bullets lose their marker when they become list items; compare without it.
    expected = [p[2:] if p.startswith("- ") else p for p in expected_paragraphs]
    assert parsed == expected
