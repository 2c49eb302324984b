"""One cost estimate: prices + measurements (+ a volume or a sweep, + diagnose's verdict) → costs per option,
break-evens, a sweep table and one recommendation, as a value the CLI, the report and the API all render."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

from ragtune.economics.measure import Measurements, Provenance, resolve, resolve_volume
from ragtune.economics.model import (
    DAYS_PER_MONTH,
    BreakEven,
    OptionCost,
    break_evens,
    costs,
    needed_inputs,
    recommend,
    sweep_volumes,
)
from ragtune.economics.prices import OPTIONS, PriceSheet

DEFAULT_SWEEP = (10.0, 100_000.0)


@dataclass(frozen=True)
class CostEstimate:
    sheet: PriceSheet
    measurements: Measurements
    provenance: dict[str, Provenance]
    volume: float | None
    volume_from: Provenance
    options: dict[str, OptionCost]
    break_evens: list[BreakEven]
    sweep: list[float]
    recommendation: str
    verdict: str | None = None
    verdict_from: str | None = None

    @property
    def currency(self) -> str:
        return self.sheet.currency

    @property
    def missing(self) -> list[str]:
        """Inputs some priced option needs and nobody measured or gave, with what would measure them."""
        needed = sorted({u for c in self.options.values() for u in c.unknown})
        out = [f"{name}: {HOW_TO_MEASURE.get(name, 'give it in the price sheet')}" for name in needed]
        if self.volume is None:
            out.append("queries_per_day: " + HOW_TO_MEASURE["queries_per_day"])
        return out

    def row(self, volume: float) -> dict:
        return {"queries_per_day": _num(volume),
                **{n: _money(c.monthly(volume)) for n, c in self.options.items()}}

    def to_json(self) -> dict:
        at = self.volume
        return {
            "currency": self.currency,
            "prices": self.sheet.source,
            "volume": {"queries_per_day": _num(at), **self.volume_from.to_json()},
            "options": {n: {"monthly": _money(c.monthly(at)) if at is not None else None,
                            "per_1k_queries": _money(c.per_1k(at)) if at is not None else None,
                            "per_query": _money(c.per_query, 8), "fixed_per_month": _money(c.fixed_per_month),
                            "one_off": _money(c.one_off), "complete": c.complete, "unknown": c.unknown,
                            "parts": {k: _money(v, 8) for k, v in c.parts.items()}}
                        for n, c in self.options.items()},
            "not_priced": [n for n in OPTIONS if n not in self.options],
            "break_even": [b.to_json() for b in self.break_evens],
            "sweep": [self.row(v) for v in self.sweep],
            "recommendation": self.recommendation,
            "verdict": self.verdict, "verdict_from": self.verdict_from,
            "inputs": {k: p.to_json() for k, p in self.provenance.items()},
            "measured": sorted(k for k, p in self.provenance.items() if p.status == "measured"),
            "given": sorted(k for k, p in self.provenance.items() if p.status == "given"),
            "assumed": sorted(k for k, p in self.provenance.items() if p.status == "assumed"),
            "missing": self.missing,
            "measurements": self.measurements.to_json(),
            "days_per_month": DAYS_PER_MONTH,
        }


HOW_TO_MEASURE = {
    "queries_per_day": "answer questions (ragtune ask / the API) so the audit log counts them, or pass --volume",
    "prompt_tokens": "answer questions or run ragtune eval answers / diagnose (records count tokens)",
    "context_tokens": "answer with retrieval or run diagnose with a corpus",
    "completion_tokens": "answer questions or run ragtune eval answers / diagnose",
    "seconds_per_query": "answer questions or run an eval (records time each query), or give seconds_per_query",
    "training_hours": "train an adapter (ragtune finetune records its training time)",
    "eval_hours": "train an adapter with its evaluation (ragtune finetune without --no-eval)",
    "retrain_every_days": "sync the corpus over at least a day (the change history measures its change rate)",
    "embed_seconds_per_chunk": "ingest documents (the change history times the embedding)",
    "corpus_chunks": "ingest documents",
    "chunks_changed_per_day": "sync the corpus over at least a day",
}


def _num(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _money(value: float | None, digits: int = 4) -> float | None:
    if value is None:
        return None
    return value if math.isinf(value) else round(value, digits)


def estimate(sheet: PriceSheet, measurements: Measurements, *, volume: float | None = None,
             sweep: tuple[float, float] | None = None, verdict: str | None = None,
             verdict_from: str | None = None) -> CostEstimate:
    inputs, provenance = resolve(measurements, sheet.given, tuple(sheet.options))
    needed = needed_inputs(sheet)
    provenance = {k: p for k, p in provenance.items() if k in needed}
    at, volume_from = resolve_volume(measurements, sheet.given, volume)
    options = costs(sheet, inputs)
    points = break_evens(options)
    low, high = sweep if sweep is not None else _default_sweep(at, points)
    volumes = sweep_volumes(low, high, [b.volume for b in points] + ([at] if at is not None else []))
    text = recommend(options, at, verdict, inputs.retrain_every_days, sheet.currency)
    return CostEstimate(sheet, measurements, provenance, at, volume_from, options, points, volumes, text, verdict,
                        verdict_from)


def _default_sweep(volume: float | None, points: list[BreakEven]) -> tuple[float, float]:
    """A range that shows the current volume and every break-even, a decade either side."""
    marks = [v for v in [volume, *(b.volume for b in points)] if v is not None and v > 0]
    if not marks:
        return DEFAULT_SWEEP
    low = 10 ** math.floor(math.log10(min(marks)) - 1)
    high = 10 ** math.ceil(math.log10(max(marks)) + 1)
    return max(1.0, low), max(high, 10.0)


def series(estimate_: CostEstimate) -> Mapping[str, list[tuple[float, float]]]:
    """(queries a day, monthly cost) per complete option over the sweep: what the plots draw."""
    return {n: [(v, c.monthly(v)) for v in estimate_.sweep]  # type: ignore[misc]
            for n, c in estimate_.options.items() if c.complete}
