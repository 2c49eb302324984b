"""Re-run an audited answer against the store version it saw, with the same model, adapter and parameters.

For greedy local generation the retrieval and the answer must come out identical, even after the corpus has
changed since: the chunk table is read as it was at the recorded version (LanceDB time travel).
"""

from __future__ import annotations

from dataclasses import dataclass

from ragtune.audit.log import AuditRecord


@dataclass(frozen=True)
class ReplayResult:
    record_id: str
    store_version: int | None
    same_model: bool
    same_retrieval: bool
    same_answer: bool
    original_answer: str
    replayed_answer: str
    original_chunks: list[str]
    replayed_chunks: list[str]

    @property
    def identical(self) -> bool:
        return self.same_model and self.same_retrieval and self.same_answer

    def to_json(self) -> dict:
        return {"record_id": self.record_id, "store_version": self.store_version, "identical": self.identical,
                "same_model": self.same_model, "same_retrieval": self.same_retrieval,
                "same_answer": self.same_answer, "original_answer": self.original_answer,
                "replayed_answer": self.replayed_answer, "original_chunks": self.original_chunks,
                "replayed_chunks": self.replayed_chunks}


def _dtype(model: dict) -> str | None:
    """A record made before ragtune 0.3 names no dtype: a local model then computed in float32."""
    return model.get("dtype", None if model.get("backend") == "openai" else "float32")


def compare(record: AuditRecord, replayed: dict, replayed_model: dict) -> ReplayResult:
    body = record.body
    original_model = body["model"]
    same_model = all(original_model.get(k) == replayed_model.get(k)
                     for k in ("backend", "model_id", "model_hash", "adapter_hash")) and (
        _dtype(original_model) == _dtype(replayed_model))
    original_chunks = [r["chunk_id"] for r in body["retrieved"]]
    replayed_chunks = [r["chunk_id"] for r in replayed["retrieved"]]
    return ReplayResult(
        record_id=record.id,
        store_version=body.get("store_version"),
        same_model=same_model,
        same_retrieval=original_chunks == replayed_chunks and body["prompt"] == replayed["prompt"],
        same_answer=body["raw_answer"] == replayed["raw_answer"] and body["answer"] == replayed["answer"],
        original_answer=body["answer"],
        replayed_answer=replayed["answer"],
        original_chunks=original_chunks,
        replayed_chunks=replayed_chunks,
    )
