"""Is an adapter stale? Fine-tuning freezes a snapshot; this measures how far the world has moved since.

Two signals, each with a documented threshold:
- **corpus drift** — documents changed, removed or added since the adapter was trained, as a share of the
  training-time corpus. An adapter taught on documents (RAFT data, facts, tone of a doc set) stops matching them
  as they change; at ``DRIFT_RETRAIN_SHARE`` (10%) of the corpus changed, retraining is recommended.
- **eval drop** — the latest evaluation of this adapter (any ``eval answers`` / ``diagnose`` run that used it)
  against the score recorded at training time. A drop of ``EVAL_DROP_RETRAIN`` (0.05) or more in the primary
  score means the data it is used on no longer looks like what it learned from.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ragtune.finetune.registry import AdapterRecord

DRIFT_RETRAIN_SHARE = 0.10
EVAL_DROP_RETRAIN = 0.05
PRIMARY_METRICS = ("field_accuracy", "answer_contained", "exact_match")  # first present is the primary score


@dataclass(frozen=True)
class CorpusDrift:
    changed: list[str]
    removed: list[str]
    added: list[str]
    snapshot_documents: int
    snapshot_store_version: int | None

    @property
    def share(self) -> float:
        moved = len(self.changed) + len(self.removed) + len(self.added)
        return moved / max(self.snapshot_documents, 1)


@dataclass(frozen=True)
class EvalDrift:
    metric: str
    recorded: float
    latest: float
    latest_run: str

    @property
    def drop(self) -> float:
        return self.recorded - self.latest


@dataclass(frozen=True)
class Staleness:
    adapter_id: str
    corpus: CorpusDrift | None
    eval: EvalDrift | None
    retrain: bool
    reasons: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        corpus = None
        if self.corpus is not None:
            corpus = {**asdict(self.corpus), "share": round(self.corpus.share, 4),
                      "changed": len(self.corpus.changed), "removed": len(self.corpus.removed),
                      "added": len(self.corpus.added),
                      "examples": (self.corpus.changed + self.corpus.removed + self.corpus.added)[:10]}
        ev = None if self.eval is None else {**asdict(self.eval), "drop": round(self.eval.drop, 4)}
        return {"id": self.adapter_id, "retrain": self.retrain, "reasons": self.reasons, "corpus": corpus,
                "eval": ev, "thresholds": {"corpus_share": DRIFT_RETRAIN_SHARE, "eval_drop": EVAL_DROP_RETRAIN}}


def corpus_drift(snapshot: dict, current: dict[str, str]) -> CorpusDrift:
    then: dict[str, str] = snapshot.get("documents", {})
    changed = sorted(d for d, v in then.items() if d in current and current[d] != v)
    removed = sorted(d for d in then if d not in current)
    added = sorted(d for d in current if d not in then)
    return CorpusDrift(changed, removed, added, len(then), snapshot.get("store_version"))


def primary(metrics: dict) -> tuple[str, float] | None:
    for name in PRIMARY_METRICS:
        value = metrics.get(name)
        if isinstance(value, dict):
            value = value.get("value")
        if value is not None:
            return name, float(value)
    return None


def latest_eval(runs_dir: Path, adapter_hash: str) -> tuple[str, dict] | None:
    """The newest saved eval run that used this adapter's weights: (run id, its summarized metrics)."""
    from ragtune.evaluate.harness import ItemResult, summarize

    best = None
    for meta_path in runs_dir.glob("*/meta.json") if runs_dir.exists() else ():
        try:
            meta = json.loads(meta_path.read_text())
        except ValueError:
            continue
        if (meta.get("model") or {}).get("adapter_hash") != adapter_hash:
            continue
        items = meta_path.parent / "items.jsonl"
        if items.exists() and (best is None or items.stat().st_mtime > best[0]):
            best = (items.stat().st_mtime, meta_path.parent)
    if best is None:
        return None
    results = []
    for line in (best[1] / "items.jsonl").read_text().splitlines():
        try:
            results.append(ItemResult(**json.loads(line)))
        except (ValueError, TypeError):
            continue
    metrics = {k: {"value": v.value} for k, v in summarize(results).items()} if results else {}
    return best[1].name, metrics


def assess(record: AdapterRecord, snapshot: dict | None, current: dict[str, str] | None,
           latest: tuple[str, dict] | None) -> Staleness:
    reasons: list[str] = []
    drift = corpus_drift(snapshot, current or {}) if snapshot is not None else None
    if drift is not None and drift.share >= DRIFT_RETRAIN_SHARE:
        reasons.append(f"{drift.share:.0%} of the training-time corpus changed since ({len(drift.changed)} changed, "
                       f"{len(drift.removed)} removed, {len(drift.added)} added; threshold "
                       f"{DRIFT_RETRAIN_SHARE:.0%})")
    eval_drift = None
    recorded = ((record.metrics.get("eval") or {}).get("conditions") or {}).get("adapter", {}).get("metrics", {})
    if latest is not None and recorded:
        then, now = primary(recorded), primary(latest[1])
        if then and now and then[0] == now[0]:
            eval_drift = EvalDrift(then[0], then[1], now[1], latest[0])
            if eval_drift.drop >= EVAL_DROP_RETRAIN:
                reasons.append(f"{then[0]} fell from {then[1]:.3f} at training time to {now[1]:.3f} in run "
                               f"{latest[0]} (threshold: a drop of {EVAL_DROP_RETRAIN})")
    return Staleness(record.id, drift, eval_drift, bool(reasons), reasons)
