"""Staleness: corpus drift and eval drop against documented thresholds."""

from __future__ import annotations

from pathlib import Path

from ragtune.finetune.registry import AdapterRecord
from ragtune.finetune.staleness import DRIFT_RETRAIN_SHARE, EVAL_DROP_RETRAIN, assess, corpus_drift


def record(adapter_score: float | None = 0.9) -> AdapterRecord:
    metrics = {}
    if adapter_score is not None:
        metrics = {"eval": {"conditions": {"adapter": {"metrics": {"field_accuracy": {"value": adapter_score}}}}}}
    return AdapterRecord("e2e-v1", "e2e", 1, "2026-01-01T00:00:00+00:00", Path("/x"), {}, {}, {}, {}, None, metrics)


SNAPSHOT = {"store_version": 3, "documents": {f"d{i}": "v1" for i in range(20)}}


def test_corpus_drift_counts_changed_removed_and_added_documents():
    now = {**{f"d{i}": "v1" for i in range(2, 20)}, "d2": "v2", "new": "v1"}
    drift = corpus_drift(SNAPSHOT, now)
    assert (drift.changed, drift.removed, drift.added) == (["d2"], ["d0", "d1"], ["new"])
    assert drift.share == 4 / 20


def test_a_corpus_that_moved_past_the_threshold_means_retrain():
    moved = int(20 * DRIFT_RETRAIN_SHARE)
    now = {f"d{i}": ("v2" if i < moved else "v1") for i in range(20)}
    result = assess(record(), SNAPSHOT, now, None)
    assert result.retrain and "changed since" in result.reasons[0]


def test_small_drift_and_a_steady_eval_mean_up_to_date():
    now = {f"d{i}": ("v2" if i == 0 else "v1") for i in range(20)}
    result = assess(record(0.9), SNAPSHOT, now, ("run1", {"field_accuracy": {"value": 0.89}}))
    assert not result.retrain and result.eval.drop < EVAL_DROP_RETRAIN


def test_an_eval_drop_past_the_threshold_means_retrain():
    result = assess(record(0.9), None, None, ("run7", {"field_accuracy": {"value": 0.9 - EVAL_DROP_RETRAIN - 0.01}}))
    assert result.retrain and "run7" in result.reasons[0] and result.corpus is None
    assert result.to_json()["eval"]["drop"] > EVAL_DROP_RETRAIN
