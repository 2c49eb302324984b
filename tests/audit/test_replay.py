"""Comparing an audited answer with its replay: the model counts as the same only if it computed in the same
precision, and records written before the precision was recorded read as the float32 they were made in."""

from __future__ import annotations

import pytest

from ragtune.audit.log import AuditRecord
from ragtune.audit.replay import compare

LOCAL = {"backend": "local", "model_id": "m", "model_hash": "h" * 64, "adapter_hash": None}


def record(model: dict) -> AuditRecord:
    body = {"model": model, "retrieved": [], "prompt": [], "raw_answer": "a", "answer": "a", "store_version": 1}
    return AuditRecord(seq=1, id="r1", created="", kind="answer", body=body, prev_hash="", hash="")


def replayed(model: dict) -> tuple[dict, dict]:
    return {"retrieved": [], "prompt": [], "raw_answer": "a", "answer": "a"}, model


@pytest.mark.parametrize("recorded,now,same", [
    (LOCAL, dict(LOCAL, dtype="float32"), True),  # a record from before dtypes: float32
    (LOCAL, dict(LOCAL, dtype="bfloat16"), False),
    (dict(LOCAL, dtype="bfloat16"), dict(LOCAL, dtype="bfloat16"), True),
    (dict(LOCAL, dtype="bfloat16"), dict(LOCAL, dtype="float32"), False),
    (dict(LOCAL, backend="openai"), dict(LOCAL, backend="openai", dtype=None), True),  # a server's own business
])
def test_the_same_model_means_the_same_weights_in_the_same_precision(recorded, now, same):
    result = compare(record(recorded), *replayed(now))
    assert result.same_model is same and result.identical is same
