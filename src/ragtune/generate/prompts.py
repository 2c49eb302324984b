"""Prompts: numbered sources for grounded answers, the bare question for closed-book runs.

The same builders serve ``ask`` and the evaluation conditions, so what is measured is what is served.
"""

from __future__ import annotations

import re
from typing import Sequence

from ragtune.types import Chunk, Message

ABSTAIN_TEXT = "Not in the documents."

# Measured on the bundled SmolLM2-135M-Instruct (docs/answers.md): putting the question first and asking for "a few
# words" roughly doubled answer-contained rate over a system prompt with citation rules; one source beat two or four.
GROUNDED_INSTRUCTION = (
    "Answer the question in a few words using the sources, and cite the source number like [1]. "
    f"If the sources do not contain the answer, say: {ABSTAIN_TEXT}"
)
CLOSED_BOOK_SYSTEM = "Answer the question in a few words."


def format_sources(chunks: Sequence[Chunk]) -> str:
    return "\n\n".join(f"[{n}] {chunk.text}" for n, chunk in enumerate(chunks, start=1))


def grounded_messages(question: str, chunks: Sequence[Chunk]) -> list[Message]:
    user = f"Question: {question}\n\nSources:\n{format_sources(chunks)}\n\n{GROUNDED_INSTRUCTION}"
    return [{"role": "user", "content": user}]


def closed_book_messages(question: str) -> list[Message]:
    return [{"role": "system", "content": CLOSED_BOOK_SYSTEM}, {"role": "user", "content": question}]


def first_answer(text: str) -> str:
    """The answer part of a reply: small models often open with "The answer is:" and a blank line, then ramble
    on in further paragraphs; keep the first paragraph that is not such a lead-in."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    if len(paragraphs) > 1 and paragraphs[0].endswith(":"):
        paragraphs = paragraphs[1:]
    return paragraphs[0] if paragraphs else ""
