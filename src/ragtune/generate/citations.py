"""Turn ``[n]`` markers in an answer into verified, sentence-level citations.

A marker counts only if source ``n`` exists. Its span is the sentence (or two adjacent sentences) of the cited
chunk that shares the most index terms with the answer text the marker belongs to; the quote is cut from the
chunk, so it is by construction a substring of the cited source, and the offsets point into the document. A
marker whose chunk shares no content term with its claim is unsupported and dropped. When the model cites
nothing, the best-supporting sentence across the sources is attributed instead and marked ``inferred``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from ragtune.text import analyze, sentence_spans
from ragtune.types import Chunk

_MARKER = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")


@dataclass(frozen=True)
class Citation:
    n: int
    doc_id: str
    doc_version: str
    chunk_id: str
    start: int
    end: int
    quote: str
    support: float  # share of the claim's index terms found in the quote
    inferred: bool = False

    def to_json(self) -> dict:
        return {
            "n": self.n, "doc_id": self.doc_id, "doc_version": self.doc_version, "chunk_id": self.chunk_id,
            "start": self.start, "end": self.end, "quote": self.quote, "support": round(self.support, 4),
            "inferred": self.inferred,
        }


@dataclass(frozen=True)
class CitationCheck:
    citations: list[Citation]
    dropped: list[dict]  # {"n", "reason"} for markers that failed verification
    answer_support: float  # share of the answer's index terms found in the cited chunks


def strip_markers(text: str) -> str:
    return re.sub(r"\s+([.,;:!?])", r"\1", _MARKER.sub("", text)).strip()


def _claims(answer: str) -> list[tuple[str, list[int]]]:
    """Split the answer into (claim text, cited numbers): a marker cites the text since the previous marker."""
    claims: list[tuple[str, list[int]]] = []
    cursor = 0
    for match in _MARKER.finditer(answer):
        numbers = [int(x) for x in re.split(r"\s*[,;]\s*", match.group(1))]
        claim = answer[cursor : match.start()]
        if not claim.strip() and claims:  # "[1][2]": both cite the same claim
            claims[-1][1].extend(numbers)
        else:
            claims.append((claim, numbers))
        cursor = match.end()
    return claims


def _coverage(claim_terms: set[str], text: str) -> float:
    if not claim_terms:
        return 0.0
    return len(claim_terms & set(analyze(text))) / len(claim_terms)


def best_span(chunk: Chunk, claim_terms: set[str]) -> tuple[int, int, float]:
    """Offsets (into the document) of the chunk's best-supporting sentence or sentence pair, and its coverage."""
    spans = sentence_spans(chunk.text, 0, len(chunk.text)) or [(0, len(chunk.text))]
    terms = [set(analyze(chunk.text[a:b])) for a, b in spans]  # each sentence analyzed once; a pair is the union
    candidates = [(span, t) for span, t in zip(spans, terms)]
    candidates += [((a[0], b[1]), ta | tb) for a, b, ta, tb in zip(spans, spans[1:], terms, terms[1:])]

    def coverage(found: set[str]) -> float:
        return len(claim_terms & found) / len(claim_terms) if claim_terms else 0.0

    (start, end), found = max(candidates, key=lambda c: (coverage(c[1]), -(c[0][1] - c[0][0])))
    return chunk.start + start, chunk.start + end, coverage(found)


def _citation(n: int, chunk: Chunk, claim_terms: set[str], inferred: bool) -> Citation:
    start, end, score = best_span(chunk, claim_terms)
    quote = chunk.text[start - chunk.start : end - chunk.start]
    return Citation(n, chunk.doc_id, chunk.doc_version, chunk.chunk_id, start, end, quote, score, inferred)


def verify_citations(answer: str, sources: Sequence[Chunk], min_claim_support: float = 0.0) -> CitationCheck:
    answer_terms = set(analyze(strip_markers(answer)))
    citations: list[Citation] = []
    dropped: list[dict] = []
    seen: set[tuple[int, int, int]] = set()
    for claim, numbers in _claims(answer):
        claim_terms = set(analyze(claim)) or answer_terms
        for n in numbers:
            if not 1 <= n <= len(sources):
                dropped.append({"n": n, "reason": f"no source [{n}] (there are {len(sources)})"})
                continue
            citation = _citation(n, sources[n - 1], claim_terms, inferred=False)
            if citation.support <= min_claim_support:
                dropped.append({"n": n, "reason": "the cited source does not support the claim"})
                continue
            if (n, citation.start, citation.end) not in seen:
                seen.add((n, citation.start, citation.end))
                citations.append(citation)
    if not citations and not dropped and sources and answer_terms:
        inferred = max((_citation(n, c, answer_terms, True) for n, c in enumerate(sources, start=1)),
                       key=lambda c: c.support)
        if inferred.support > min_claim_support:
            citations.append(inferred)
    cited_text = " ".join(sources[c.n - 1].text for c in citations)
    support = _coverage(answer_terms, cited_text) if citations else 0.0
    return CitationCheck(citations, dropped, support)
