"""What an answer's audit record holds: enough to explain it and to re-run it exactly."""

from __future__ import annotations

from ragtune.generate.answer import Answer


def answer_record(answer: Answer, *, source: str, model_ref: dict) -> dict:
    m = answer.model
    return {
        "source": source,
        "question": answer.question,
        "retrieval": answer.retrieval,
        "store_version": answer.store_version,
        "retrieved": [
            {"n": n, "chunk_id": h.chunk.chunk_id, "doc_id": h.chunk.doc_id, "doc_version": h.chunk.doc_version,
             "start": h.chunk.start, "end": h.chunk.end, "score": h.score}
            for n, h in enumerate(answer.hits, start=1)
        ],
        "prompt": answer.messages,
        "model": {"backend": m.backend, "model_id": m.model_id, "model_hash": m.model_hash,
                  "adapter_id": m.adapter_id, "adapter_hash": m.adapter_hash, "dtype": m.dtype,
                  "ref": model_ref},
        "generation": answer.params.to_json(),
        "raw_answer": answer.raw_answer,
        "answer": answer.answer,
        "abstained": answer.abstained,
        "abstain_reason": answer.abstain_reason,
        "citations": [c.to_json() for c in answer.citations],
        "dropped_citations": answer.dropped_citations,
        "latency_ms": {k: round(v, 1) for k, v in answer.latency_ms.items()},
        # what the answer cost in tokens (None: the backend did not count them); read by `ragtune cost`
        "tokens": answer.tokens,
    }
