"""Grounded answering: retrieve → (abstain if nothing is relevant) → prompt with numbered sources → generate →
verify citations → (abstain if the answer is not supported by what it cites).

The thresholds live in :class:`AnswerConfig`; how their defaults were calibrated is in docs/answers.md.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Callable, Sequence

from ragtune.config import AnswerConfig
from ragtune.generate.citations import Citation, CitationCheck, strip_markers, verify_citations
from ragtune.generate.prompts import ABSTAIN_TEXT, closed_book_messages, first_answer, grounded_messages
from ragtune.models.generator import Generator
from ragtune.retrieve.searcher import Searcher
from ragtune.types import Filters, Generation, GenerationParams, Hit, Message, ModelIdentity

MODEL_ABSTAINS = re.compile(r"\b(not in the (documents|sources)|(cannot|can't|unable to) (find|answer)|"
                             r"(sources|documents) do not (contain|mention|say))\b", re.I)


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str
    abstained: bool
    abstain_reason: str | None  # "no_relevant_sources" | "model_abstained" | "unsupported" | None
    raw_answer: str
    citations: list[Citation]
    dropped_citations: list[dict]
    support: float
    hits: list[Hit]
    messages: list[Message]
    model: ModelIdentity
    params: GenerationParams
    retrieval: dict | None  # the retrieval parameters, None for closed-book
    store_version: int | None
    latency_ms: dict[str, float]
    generation: Generation | None
    audit_id: str | None = None

    @property
    def tokens(self) -> dict | None:
        """Tokens this answer used (see :func:`token_counts`)."""
        context = sum(len(h.chunk.text) for h in self.hits) if self.retrieval is not None else 0
        return token_counts(self.generation, self.messages, context)

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "abstain_reason": self.abstain_reason,
            "citations": [c.to_json() for c in self.citations],
            "dropped_citations": self.dropped_citations,
            "support": round(self.support, 4),
            "retrieved": [{"n": n, "chunk_id": h.chunk.chunk_id, "doc_id": h.chunk.doc_id,
                           "doc_version": h.chunk.doc_version, "score": round(h.score, 6),
                           "scores": {k: round(v, 6) for k, v in h.scores.items()}}
                          for n, h in enumerate(self.hits, start=1)],
            "model": {"backend": self.model.backend, "model_id": self.model.model_id,
                      "model_hash": self.model.model_hash, "adapter_id": self.model.adapter_id},
            "store_version": self.store_version,
            "latency_ms": {k: round(v, 1) for k, v in self.latency_ms.items()},
            "audit_id": self.audit_id,
        }


TokenCallback = Callable[[str], None]


def token_counts(generation: Generation | None, messages: Sequence[Message], context_chars: int) -> dict | None:
    """``{"prompt", "context", "completion"}`` tokens of one model call, as the backend counted them: ``prompt``
    is every input token, ``context`` the part of it that is retrieved sources (the prompt's tokens split by the
    sources' share of its characters — backends count whole prompts only). No call (an abstention before
    generating) used no tokens; a call whose backend reported no counts (a stream) gives None, not zeros."""
    if generation is None:
        return {"prompt": 0, "context": 0, "completion": 0}
    if not generation.counted:
        return None
    total = sum(len(m["content"]) for m in messages)
    share = min(1.0, context_chars / total) if total else 0.0
    return {"prompt": generation.prompt_tokens, "context": round(generation.prompt_tokens * share),
            "completion": generation.completion_tokens}


def _generate(generator: Generator, messages: list[Message], params: GenerationParams,
              on_token: TokenCallback | None) -> Generation:
    if on_token is None:
        return generator.generate(messages, params)
    started = time.perf_counter()
    pieces = []
    for piece in generator.stream(messages, params):
        pieces.append(piece)
        on_token(piece)
    # a stream reports no token counts: the record says "not counted" rather than zero
    return Generation("".join(pieces).strip(), 0, 0, time.perf_counter() - started, counted=False)


def answer_closed_book(question: str, generator: Generator, params: GenerationParams,
                       on_token: TokenCallback | None = None) -> Answer:
    messages = closed_book_messages(question)
    started = time.perf_counter()
    generation = _generate(generator, messages, params, on_token)
    return Answer(question, first_answer(generation.text), False, None, generation.text, [], [], 0.0, [], messages,
                  generator.identity, params, None, None,
                  {"generate": generation.seconds * 1000, "total": (time.perf_counter() - started) * 1000},
                  generation)


@dataclass(frozen=True)
class GroundedReply:
    """What follows retrieval: the shown text, whether (and why) it abstained, and the evidence."""

    text: str
    abstain_reason: str | None
    messages: list[Message]
    generation: Generation | None = None
    check: CitationCheck | None = None


def grounded_prompt(question: str, hits: Sequence[Hit], config: AnswerConfig) -> tuple[list[Message],
                                                                                     GroundedReply | None]:
    """The grounded prompt for the hits, and the reply already decided without the model: an abstention when
    nothing retrieved is relevant enough (None when the model is to answer)."""
    messages = grounded_messages(question, [h.chunk for h in hits])
    best = max((h.scores.get("dense", -1.0) for h in hits), default=-1.0)
    if not hits or best < config.min_relevance:
        return messages, GroundedReply(ABSTAIN_TEXT, "no_relevant_sources", messages)
    return messages, None


def grounded_reply(hits: Sequence[Hit], messages: list[Message], generation: Generation,
                   config: AnswerConfig) -> GroundedReply:
    """Verify what the model generated against the hits it was shown; abstain when it declines or when the
    answer is not supported by what it cites."""
    raw = first_answer(generation.text)
    if not raw or MODEL_ABSTAINS.search(raw):
        return GroundedReply(ABSTAIN_TEXT, "model_abstained", messages, generation)
    check = verify_citations(raw, [h.chunk for h in hits])
    if not check.citations or check.answer_support < config.min_support:
        return GroundedReply(ABSTAIN_TEXT, "unsupported", messages, generation, check)
    return GroundedReply(strip_markers(raw), None, messages, generation, check)


def answer_from_hits(question: str, hits: Sequence[Hit], generator: Generator, config: AnswerConfig,
                     on_token: TokenCallback | None = None) -> GroundedReply:
    """Prompt with the hits, generate, verify; abstain when nothing is relevant, the model declines, or the
    answer is not supported by what it cites."""
    messages, decided = grounded_prompt(question, hits, config)
    if decided is not None:
        return decided
    return grounded_reply(hits, messages, _generate(generator, messages, config.params, on_token), config)


@dataclass(frozen=True)
class PreparedAnswer:
    """A grounded answer up to the model call: what was retrieved, the prompt, and — when nothing relevant was
    found — the reply that needs no model (``decided``). :func:`answer_question` runs the model on ``messages``
    right away; evaluation batches the prompts of many questions and finishes each with :func:`finish_answer`."""

    question: str
    hits: list[Hit]
    messages: list[Message]
    decided: GroundedReply | None
    config: AnswerConfig
    retrieval: dict
    store_version: int | None
    retrieve_ms: float
    started: float  # time.perf_counter() when answering began


def prepare_answer(question: str, *, searcher: Searcher, config: AnswerConfig,
                   filters: Filters | None = None) -> PreparedAnswer:
    started = time.perf_counter()
    result = searcher.search(question, mode=config.mode, k=config.k, filters=filters)  # type: ignore[arg-type]
    retrieved_ms = (time.perf_counter() - started) * 1000
    messages, decided = grounded_prompt(question, result.hits, config)
    retrieval = {"mode": config.mode, "k": config.k, "candidates": searcher.config.candidates,
                 "fusion": searcher.config.fusion, "rrf_k": searcher.config.rrf_k,
                 "min_relevance": config.min_relevance,
                 "min_support": config.min_support,
                 # which vectors the dense search compared: replay must embed the question the same way
                 "embedder": searcher.embedder.model_id,
                 "filters": (filters or Filters()).to_json()}
    return PreparedAnswer(question, list(result.hits), messages, decided, config, retrieval, result.store_version,
                          retrieved_ms, started)


def finish_answer(prepared: PreparedAnswer, generation: Generation | None, model: ModelIdentity) -> Answer:
    """The answer from what the model generated for ``prepared.messages`` (None when ``prepared.decided``)."""
    if prepared.decided is not None:
        reply = prepared.decided
    else:
        if generation is None:
            raise ValueError("finish_answer: the model's generation is needed unless the reply was decided")
        reply = grounded_reply(prepared.hits, prepared.messages, generation, prepared.config)
    generation, check, abstained = reply.generation, reply.check, reply.abstain_reason is not None
    latency = {"retrieve": prepared.retrieve_ms, "total": (time.perf_counter() - prepared.started) * 1000}
    if generation is not None:
        latency["generate"] = generation.seconds * 1000
    return Answer(
        question=prepared.question, answer=reply.text, abstained=abstained, abstain_reason=reply.abstain_reason,
        raw_answer=generation.text if generation else "",
        citations=list(check.citations) if check and not abstained else [],
        dropped_citations=list(check.dropped) if check else [],
        support=check.answer_support if check else 0.0,
        hits=prepared.hits, messages=reply.messages, model=model, params=prepared.config.params,
        retrieval=prepared.retrieval, store_version=prepared.store_version, latency_ms=latency,
        generation=generation,
    )


def answer_question(
    question: str,
    *,
    searcher: Searcher,
    generator: Generator,
    config: AnswerConfig,
    filters: Filters | None = None,
    on_token: TokenCallback | None = None,
) -> Answer:
    prepared = prepare_answer(question, searcher=searcher, config=config, filters=filters)
    generation = (None if prepared.decided is not None
                  else _generate(generator, prepared.messages, config.params, on_token))
    return finish_answer(prepared, generation, generator.identity)
