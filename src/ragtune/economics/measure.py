"""What the cost model's inputs are in this home, measured from what ragtune recorded — never guessed.

- tokens and seconds per query: audit answer records (``tokens``, ``latency_ms.total``) and eval items
  (``tokens``, ``seconds``), grouped by the kind of call: ``closed_book``, ``few_shot``, ``grounded`` (RAG),
  ``adapter`` and ``adapter_grounded`` (RAG with an adapter);
- queries a day: answer records over the last ``VOLUME_WINDOW_DAYS`` days (at least one day);
- training and evaluation hours: the adapter registry (``training.seconds``, ``metrics.eval.seconds``);
- embedding seconds a chunk, index size, chunks re-embedded a day and the corpus's change rate: the index's change
  history (``ingest-history.jsonl``). The retrain cadence is the days until the share of changed documents
  reaches the staleness threshold (:data:`ragtune.finetune.staleness.DRIFT_RETRAIN_SHARE`).

Every figure says how many records it rests on; :func:`resolve` then fills each cost input from the price
sheet's ``given`` numbers (which win), else a measurement, else marks it missing.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping

from ragtune.audit.log import AuditLog
from ragtune.economics.model import DEFAULT_HORIZON_MONTHS, Inputs
from ragtune.finetune.registry import AdapterRegistry
from ragtune.finetune.staleness import DRIFT_RETRAIN_SHARE
from ragtune.ingest.history import read_history

VOLUME_WINDOW_DAYS = 30
MIN_HISTORY_DAYS = 1.0  # a change rate over less than a day says nothing about a month
KINDS = ("closed_book", "few_shot", "grounded", "adapter", "adapter_grounded")
CONDITION_KIND = {"closed_book": "closed_book", "few_shot": "few_shot", "retrieval": "grounded",
                  "adapter": "adapter", "adapter+retrieval": "adapter_grounded"}


@dataclass
class Sample:
    """Per-query means of one kind of call, and how many records each rests on (audit, eval)."""

    prompt: float = 0.0
    context: float = 0.0
    completion: float = 0.0
    token_records: tuple[int, int] = (0, 0)
    seconds: float = 0.0
    time_records: tuple[int, int] = (0, 0)

    @property
    def token_n(self) -> int:
        return sum(self.token_records)

    @property
    def time_n(self) -> int:
        return sum(self.time_records)

    def to_json(self) -> dict:
        return {"prompt_tokens": round(self.prompt, 1), "context_tokens": round(self.context, 1),
                "completion_tokens": round(self.completion, 1),
                "token_records": {"audit": self.token_records[0], "eval": self.token_records[1]},
                "seconds_per_query": round(self.seconds, 4),
                "time_records": {"audit": self.time_records[0], "eval": self.time_records[1]}}


@dataclass
class Measurements:
    samples: dict[str, Sample] = field(default_factory=dict)
    queries_per_day: float | None = None
    answer_records: int = 0
    volume_days: float | None = None
    training_hours: float | None = None
    eval_hours: float | None = None
    adapters: int = 0
    evaluated_adapters: int = 0
    embed_seconds_per_chunk: float | None = None
    embedded_chunks: int = 0
    corpus_chunks: float | None = None
    corpus_documents: float | None = None
    history_entries: int = 0
    history_days: float | None = None
    documents_changed_per_day: float | None = None
    chunks_changed_per_day: float | None = None
    retrain_every_days: float | None = None
    changes_by_source: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict:
        def r(v: float | None, digits: int = 4) -> float | None:
            return None if v is None else (v if math.isinf(v) else round(v, digits))

        return {
            "tokens_and_time": {k: s.to_json() for k, s in self.samples.items()},
            "queries_per_day": r(self.queries_per_day, 2), "answer_records": self.answer_records,
            "volume_days": r(self.volume_days, 2),
            "training_hours": r(self.training_hours), "eval_hours": r(self.eval_hours), "adapters": self.adapters,
            "evaluated_adapters": self.evaluated_adapters,
            "embed_seconds_per_chunk": r(self.embed_seconds_per_chunk, 6), "embedded_chunks": self.embedded_chunks,
            "corpus_chunks": self.corpus_chunks, "corpus_documents": self.corpus_documents,
            "history_entries": self.history_entries, "history_days": r(self.history_days, 2),
            "documents_changed_per_day": r(self.documents_changed_per_day),
            "chunks_changed_per_day": r(self.chunks_changed_per_day),
            "retrain_every_days": None if self.retrain_every_days is None else (
                "never" if math.isinf(self.retrain_every_days) else round(self.retrain_every_days, 1)),
            "changes_by_source": self.changes_by_source,
        }


def _parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class _Accumulator:
    def __init__(self) -> None:
        self.tokens: dict[str, list[tuple[float, float, float, int]]] = {k: [] for k in KINDS}
        self.times: dict[str, list[tuple[float, int]]] = {k: [] for k in KINDS}

    def add(self, kind: str, tokens: Mapping | None, seconds: float | None, origin: int) -> None:
        if tokens is not None and all(isinstance(tokens.get(k), (int, float)) for k in ("prompt", "completion")):
            self.tokens[kind].append((float(tokens["prompt"]), float(tokens.get("context") or 0),
                                      float(tokens["completion"]), origin))
        if isinstance(seconds, (int, float)) and seconds >= 0:
            self.times[kind].append((float(seconds), origin))

    def samples(self) -> dict[str, Sample]:
        out = {}
        for kind in KINDS:
            tokens, times = self.tokens[kind], self.times[kind]
            if not tokens and not times:
                continue
            sample = Sample()
            if tokens:
                n = len(tokens)
                sample.prompt = sum(t[0] for t in tokens) / n
                sample.context = sum(t[1] for t in tokens) / n
                sample.completion = sum(t[2] for t in tokens) / n
                sample.token_records = (sum(1 for t in tokens if t[3] == 0), sum(1 for t in tokens if t[3] == 1))
            if times:
                sample.seconds = sum(t[0] for t in times) / len(times)
                sample.time_records = (sum(1 for t in times if t[1] == 0), sum(1 for t in times if t[1] == 1))
            out[kind] = sample
        return out


def _audit_kind(grounded: bool, adapter: bool) -> str:
    return ("adapter_grounded" if grounded else "adapter") if adapter else ("grounded" if grounded else "closed_book")


def measure(home: Path, now: datetime | None = None) -> Measurements:
    """Everything measurable in ``home``; reads only (an empty or missing home measures nothing)."""
    home = Path(home)
    now = now or datetime.now(timezone.utc)
    m = Measurements()
    acc = _Accumulator()
    _measure_audit(home / "audit.sqlite", now, m, acc)
    _measure_runs(home / "runs", acc)
    m.samples = acc.samples()
    _measure_registry(home / "adapters", m)
    _measure_history(home, now, m)
    return m


def _measure_audit(path: Path, now: datetime, m: Measurements, acc: _Accumulator) -> None:
    if not path.is_file():
        return  # opening the log would create it: a cost estimate writes nothing
    log = AuditLog(path)
    try:
        rows = log.extract("answer", {"prompt": "$.tokens.prompt", "context": "$.tokens.context",
                                      "completion": "$.tokens.completion", "mode": "$.retrieval.mode",
                                      "adapter": "$.model.adapter_id", "total_ms": "$.latency_ms.total"})
    finally:
        log.close()
    for row in rows:
        kind = _audit_kind(row["mode"] is not None, row["adapter"] is not None)
        tokens = None if row["prompt"] is None else row
        acc.add(kind, tokens, row["total_ms"] / 1000 if isinstance(row["total_ms"], (int, float)) else None, 0)
    m.answer_records = len(rows)
    if rows:
        start = now.timestamp() - VOLUME_WINDOW_DAYS * 86400
        recent = [t for r in rows if (t := _parse_time(r["created"]).timestamp()) >= start]
        if recent:
            days = min(VOLUME_WINDOW_DAYS, max(1.0, (now.timestamp() - min(recent)) / 86400))
            m.queries_per_day, m.volume_days = len(recent) / days, days


def _measure_runs(runs: Path, acc: _Accumulator) -> None:
    if not runs.is_dir():
        return
    for items in sorted(runs.rglob("items.jsonl")):
        for line in items.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue
            kind = CONDITION_KIND.get(item.get("condition")) if isinstance(item, dict) else None
            if kind is None or item.get("error"):
                continue
            acc.add(kind, item.get("tokens"), item.get("seconds"), 1)


def _measure_registry(root: Path, m: Measurements) -> None:
    records = AdapterRegistry(root).list()
    trained = [r.training["seconds"] for r in records if isinstance(r.training.get("seconds"), (int, float))]
    evaluated = [(r.metrics.get("eval") or {}).get("seconds") for r in records]
    evaluated = [s for s in evaluated if isinstance(s, (int, float))]
    m.adapters, m.evaluated_adapters = len(trained), len(evaluated)
    if trained:
        m.training_hours = sum(trained) / len(trained) / 3600
    if evaluated:
        m.eval_hours = sum(evaluated) / len(evaluated) / 3600


def _measure_history(home: Path, now: datetime, m: Measurements) -> None:
    entries = read_history(home)
    m.history_entries = len(entries)
    if not entries:
        return
    embedded = [(e.get("seconds", 0), e.get("embedded", 0)) for e in entries if e.get("embedded")]
    m.embedded_chunks = int(sum(n for _, n in embedded))
    if m.embedded_chunks:
        m.embed_seconds_per_chunk = sum(s for s, _ in embedded) / m.embedded_chunks
    last = entries[-1]
    m.corpus_chunks = last.get("chunks_after")
    m.corpus_documents = last.get("documents_after")
    first = _parse_time(entries[0]["at"])
    days = (now - first).total_seconds() / 86400
    m.history_days = days
    later = entries[1:]  # the first write builds the index: a load, not a change
    for e in later:
        for source, counts in (e.get("sources") or {}).items():
            changed = sum(int(counts.get(k, 0)) for k in ("added", "updated", "removed"))
            m.changes_by_source[source] = m.changes_by_source.get(source, 0) + changed
    if days < MIN_HISTORY_DAYS or len(entries) < 2:
        return  # too short to say how fast the corpus moves
    changed_docs = sum(int(e.get("added", 0)) + int(e.get("updated", 0)) + int(e.get("removed", 0)) for e in later)
    m.documents_changed_per_day = changed_docs / days
    m.chunks_changed_per_day = sum(int(e.get("embedded", 0)) for e in later) / days
    if m.corpus_documents:
        share_per_day = m.documents_changed_per_day / m.corpus_documents
        m.retrain_every_days = DRIFT_RETRAIN_SHARE / share_per_day if share_per_day > 0 else math.inf


# ---- measured or given → the model's inputs -------------------------------------------------------------------

# Which kinds of call stand for each option, best first; a later one stands in when the first was never measured.
PROMPT_FROM = {"prompt": ("few_shot", "closed_book"), "rag": ("grounded",),
               "finetune": ("adapter", "closed_book"), "rag+finetune": ("adapter_grounded", "grounded")}
COMPLETION_FROM = {"prompt": ("few_shot", "closed_book", "grounded"), "rag": ("grounded", "closed_book"),
                   "finetune": ("adapter", "closed_book", "grounded"),
                   "rag+finetune": ("adapter_grounded", "grounded", "adapter")}


@dataclass(frozen=True)
class Provenance:
    """Where one input came from: ``measured`` (with the records it rests on), ``given`` (the price sheet) or
    ``missing``; ``value`` is what the model used."""

    status: str
    value: float | None
    n: int | None = None
    detail: str = ""

    def to_json(self) -> dict:
        value = self.value
        if value is not None and math.isinf(value):
            value = "never"  # type: ignore[assignment]
        elif value is not None:
            value = round(value, 6)
        return {"status": self.status, "value": value, "records": self.n, "from": self.detail}


def _records(counts: tuple[int, int]) -> str:
    audit, evals = counts
    parts = [f"{audit} audit records" if audit else "", f"{evals} eval items" if evals else ""]
    return " and ".join(p for p in parts if p)


def _first(samples: Mapping[str, Sample], kinds: tuple[str, ...], tokens: bool) -> tuple[str, Sample] | None:
    for kind in kinds:
        s = samples.get(kind)
        if s is not None and (s.token_n if tokens else s.time_n):
            return kind, s
    return None


def resolve(m: Measurements, given: Mapping[str, float], options: tuple[str, ...]) -> tuple[Inputs, dict]:
    """The model's inputs and, per input, where it came from. ``given`` numbers win over measurements (the sheet
    states them on purpose); an input neither measured nor given is missing and the cost terms that need it are
    left unknown (never filled with a default)."""
    prov: dict[str, Provenance] = {}

    def pick(name: str, measured: Provenance | None) -> float | None:
        if name in given:
            detail = f"price sheet (measured: {measured.value:g})" if measured and measured.value is not None \
                and not math.isinf(measured.value) else "price sheet"
            prov[name] = Provenance("given", given[name], None, detail)
        elif measured is not None:
            prov[name] = measured
        else:
            prov[name] = Provenance("missing", None)
        return prov[name].value

    def per_option(field_: str, kinds: Mapping[str, tuple[str, ...]], read, tokens: bool) -> dict[str, float | None]:
        values = {}
        for option in options:
            found = _first(m.samples, kinds[option], tokens)
            measured = None
            if found is not None:
                kind, s = found
                stand_in = "" if kind == kinds[option][0] else f", standing in for {kinds[option][0]}"
                counts = s.token_records if tokens else s.time_records
                measured = Provenance("measured", read(s), sum(counts), f"{kind}: {_records(counts)}{stand_in}")
            values[option] = pick_as(f"{field_}.{option}", field_, measured)
        return values

    def pick_as(key: str, given_name: str, measured: Provenance | None) -> float | None:
        value = pick(given_name, measured)
        prov[key] = prov.pop(given_name)
        return value

    prompt = per_option("prompt_tokens", PROMPT_FROM, lambda s: s.prompt - s.context, True)
    completion = per_option("completion_tokens", COMPLETION_FROM, lambda s: s.completion, True)
    seconds = per_option("seconds_per_query", COMPLETION_FROM | {"rag": ("grounded",),
                                                                 "rag+finetune": ("adapter_grounded", "grounded")},
                         lambda s: s.seconds, False)
    found = _first(m.samples, ("grounded", "adapter_grounded"), True)
    context = pick("context_tokens", None if found is None else Provenance(
        "measured", found[1].context, found[1].token_n, f"{found[0]}: {_records(found[1].token_records)}"))

    def measured(value: float | None, n: int, detail: str) -> Provenance | None:
        return None if value is None else Provenance("measured", value, n, detail)

    training = pick("training_hours", measured(m.training_hours, m.adapters,
                                               f"adapter registry: mean of {m.adapters} trainings"))
    evaluation = pick("eval_hours", measured(m.eval_hours, m.evaluated_adapters,
                                             f"adapter registry: mean of {m.evaluated_adapters} evaluations"))
    cadence_detail = (f"change history: {m.documents_changed_per_day or 0:.3g} of {m.corpus_documents:g} documents "
                      f"changed a day over {m.history_days or 0:.1f} days; retrain when "
                      f"{DRIFT_RETRAIN_SHARE:.0%} changed") if m.retrain_every_days is not None else ""
    retrain = pick("retrain_every_days", measured(m.retrain_every_days, m.history_entries, cadence_detail))
    embed = pick("embed_seconds_per_chunk", measured(m.embed_seconds_per_chunk, m.embedded_chunks,
                                                     "change history: ingest seconds per embedded chunk"))
    chunks = pick("corpus_chunks", measured(m.corpus_chunks, m.history_entries, "change history: index size"))
    changed = pick("chunks_changed_per_day", measured(
        m.chunks_changed_per_day, m.history_entries,
        f"change history: chunks re-embedded over {m.history_days or 0:.1f} days"))
    if "horizon_months" in given:
        horizon = given["horizon_months"]
        prov["horizon_months"] = Provenance("given", horizon, None, "price sheet")
    else:
        horizon = DEFAULT_HORIZON_MONTHS
        prov["horizon_months"] = Provenance("assumed", horizon, None, "default: one-off costs spread over a year")
    inputs = Inputs(prompt, context, completion, seconds, training, evaluation, retrain, embed, chunks, changed,
                    horizon)
    return inputs, prov


def resolve_volume(m: Measurements, given: Mapping[str, float], volume: float | None) -> tuple[float | None, Provenance]:
    """Queries a day: the command line's ``--volume``, else the sheet's, else the audit log's."""
    if volume is not None:
        return volume, Provenance("given", volume, None, "--volume")
    if "queries_per_day" in given:
        return given["queries_per_day"], Provenance("given", given["queries_per_day"], None, "price sheet")
    if m.queries_per_day is not None:
        return m.queries_per_day, Provenance("measured", m.queries_per_day, m.answer_records,
                                             f"audit log: answers over the last {m.volume_days:.1f} days")
    return None, Provenance("missing", None)
