"""The answer component: grounded (or closed-book) answers, each appended to the audit log; replay of a record."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ragtune.audit.log import AuditLog
from ragtune.audit.records import answer_record
from ragtune.audit.replay import ReplayResult, compare
from ragtune.components.adapters import AdapterResolver
from ragtune.components.documents import DocumentIndex, with_viewer
from ragtune.components.records import AuditView
from ragtune.config import AnswerConfig, GeneratorConfig
from ragtune.errors import AuditError, InputError, ModelError
from ragtune.generate.answer import Answer, TokenCallback, answer_closed_book, answer_question
from ragtune.models.factory import GeneratorFactory, model_ref
from ragtune.types import Filters, GenerationParams, Viewer


@dataclass
class Answerer:
    documents: DocumentIndex
    generators: GeneratorFactory
    adapters: AdapterResolver
    audit: AuditLog
    config: AnswerConfig
    generator: GeneratorConfig

    def ask(self, question: str, *, k: int | None = None, retrieval: bool = True, adapter: str | Path | None = None,
            filters: Filters | None = None, on_token: TokenCallback | None = None, source: str = "python",
            params: GenerationParams | None = None, viewer: Viewer | None = None) -> Answer:
        """Answer from the documents with verified citations (or closed-book with ``retrieval=False``); every
        answer is appended to the audit log and carries its ``audit_id``.

        ``viewer`` (an API key) restricts retrieval to the documents it may see, and the record names its key id
        (never the key) so the key can find its own records; ``params`` replaces the configured decoding."""
        if not (question or "").strip():
            raise InputError("question is empty: ask something")
        config = self.config if k is None else replace(self.config, k=k)
        if params is not None:
            config = replace(config, params=params)
        resolved = self.adapters.resolve(adapter)
        generator = self.generators(self.generator, resolved)
        if retrieval:
            answer = answer_question(question, searcher=self.documents.searcher, generator=generator, config=config,
                                     filters=with_viewer(filters, viewer), on_token=on_token)
        else:
            answer = answer_closed_book(question, generator, config.params, on_token)
        body = answer_record(answer, source=source, model_ref=model_ref(self.generator, resolved))
        if viewer is not None:
            body["api_key_id"] = viewer.key_id
        record = self.audit.append("answer", body)
        return replace(answer, audit_id=record.id)

    def replay(self, record_id: str, viewer: Viewer | None = None) -> ReplayResult:
        """Re-run an audited answer on the store version it saw, with the model, adapter and parameters it
        recorded (the model is rebuilt from the record, not taken from the current settings).

        A record is only trusted as far as the log verifies, so the chain is checked first. Even then the record
        chooses neither where the API key goes (the recorded endpoint must be the configured one) nor which files
        load (adapters come from this home's registry). A ``viewer`` may replay only a record it may read (see
        :class:`AuditView`: its own, and only while it can see every document the answer retrieved)."""
        verified = self.audit.verify()
        if not verified.ok:
            raise AuditError(f"the audit log does not verify (record {verified.first_bad}: {verified.reason}): "
                             "replay refuses to re-run records it cannot trust")
        record = AuditView(self.audit, self.documents).get(record_id, viewer)
        body = record.body
        if body.get("kind") != "answer":
            raise InputError(f"audit record {record_id} is a {body.get('kind')!r} record, not an answer")
        ref = body["model"]["ref"]
        config = replay_generator(ref, self.generator, record.id)
        generator = self.generators(config, self.adapters.recorded(ref))
        params = GenerationParams(**dict(body["generation"], stop=tuple(body["generation"]["stop"])))
        retrieval = body["retrieval"]
        if retrieval is None:
            answer = answer_closed_book(body["question"], generator, params)
        else:
            recorded = retrieval.get("embedder")  # records made before ragtune 0.3 name none: the float model
            if recorded is not None and recorded != self.documents.embedder.model_id:
                raise ModelError(
                    f"audit record {record.id} was retrieved with embedder {recorded!r}, but this index is "
                    f"searched with {self.documents.embedder.model_id!r}: replay needs the index the answer "
                    "was made from (an index keeps its embedder; was this home rebuilt?)")
            searcher = self.documents.searcher_at(body["store_version"], replace(
                self.documents.settings.retrieval, candidates=retrieval["candidates"], rrf_k=retrieval["rrf_k"],
                # records made before z-score fusion (ragtune 0.2) name no method: they were fused with RRF
                fusion=retrieval.get("fusion", "rrf")))
            config_ = AnswerConfig(k=retrieval["k"], mode=retrieval["mode"], min_relevance=retrieval["min_relevance"],
                                   min_support=retrieval["min_support"], params=params)
            filters = Filters.from_json(retrieval["filters"])
            answer = answer_question(body["question"], searcher=searcher, generator=generator, config=config_,
                                     filters=filters)
        replayed = answer_record(answer, source="replay", model_ref=ref)
        return compare(record, replayed, replayed["model"])


def _endpoint(base_url: str | None) -> str | None:
    return base_url.rstrip("/") if base_url else None


def replay_generator(ref: dict, configured: GeneratorConfig, record_id: str) -> GeneratorConfig:
    """The recorded model on the configured endpoint. The configured API key belongs to the configured endpoint:
    a record (which anyone with write access to the log could edit) must never choose where that key is sent, so
    a record answered elsewhere is refused rather than replayed there."""
    recorded = ref.get("base_url")
    if _endpoint(recorded) != _endpoint(configured.base_url):
        answered_by = f"the server {recorded}" if recorded else "a local model"
        now = f"the server {configured.base_url}" if configured.base_url else "a local model"
        raise ModelError(f"audit record {record_id} was answered by {answered_by} but the configured generator is "
                         f"{now}: replay only calls the configured endpoint; configure that one "
                         "(RAGTUNE_BASE_URL) to replay it")
    # a record made before ragtune 0.3 names no dtype: a local model then computed in float32
    return replace(configured, model=ref["model"], dtype=ref.get("dtype") or "float32")
