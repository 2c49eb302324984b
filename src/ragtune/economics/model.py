"""The cost model: pure functions from inputs (measured or given) and a price sheet to costs per option.

Every option's monthly cost is a straight line in the volume ``q`` (queries a day)::

    monthly(q) = fixed + per_query × q × DAYS_PER_MONTH

- **per query** — serving: tokens × API prices (``input = prompt [+ context]``, ``output = completion``, per 1M
  tokens), or a local machine's price per hour × the seconds a query takes ÷ the queries it serves at once.
- **fixed a month** — the option's own ``fixed_per_month``; for options that retrieve, keeping the index fresh
  (chunks re-embedded a day × seconds a chunk × the embedding machine's price) plus the first index spread over
  the horizon; for options that fine-tune, every retrain and its evaluation (hours × the training machine's price,
  once per ``retrain_every_days``) plus the first training spread over the horizon.

Two options cost the same at ``q* = (fixed_b − fixed_a) / ((per_query_a − per_query_b) × DAYS_PER_MONTH)``: below
it the one with the smaller fixed cost is cheaper, above it the one with the smaller cost per query; there is no
break-even when the lines are parallel or meet only at q* <= 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from ragtune.economics.prices import OPTIONS, RETRIEVES, TRAINS, ApiPrice, LocalPrice, OptionPrice, PriceSheet

DAYS_PER_MONTH = 365.25 / 12
DEFAULT_HORIZON_MONTHS = 12.0


@dataclass(frozen=True)
class Inputs:
    """What the costs depend on besides prices; None = neither measured nor given (the cost term is unknown).

    Token and time figures are per option: the prompt-only option sends the prompt a plain model needs (examples
    included), a tuned model needs no examples, RAG adds context. ``retrain_every_days`` = 0 or ``math.inf``: the
    corpus never changes, so an adapter is trained once."""

    prompt_tokens: Mapping[str, float | None]
    context_tokens: float | None
    completion_tokens: Mapping[str, float | None]
    seconds_per_query: Mapping[str, float | None]
    training_hours: float | None = None
    eval_hours: float | None = None
    retrain_every_days: float | None = None
    embed_seconds_per_chunk: float | None = None
    corpus_chunks: float | None = None
    chunks_changed_per_day: float | None = None
    horizon_months: float = DEFAULT_HORIZON_MONTHS


@dataclass(frozen=True)
class OptionCost:
    """One option as a line: ``monthly(q) = fixed_per_month + per_query × q × DAYS_PER_MONTH``."""

    option: str
    per_query: float | None
    fixed_per_month: float | None
    one_off: float | None
    parts: dict[str, float | None]  # each term, named, so the output shows where the money goes
    unknown: list[str] = field(default_factory=list)  # inputs the line needs but does not have

    @property
    def complete(self) -> bool:
        return self.per_query is not None and self.fixed_per_month is not None

    def monthly(self, volume: float) -> float | None:
        if not self.complete:
            return None
        return self.fixed_per_month + self.per_query * volume * DAYS_PER_MONTH  # type: ignore[operator]

    def per_1k(self, volume: float) -> float | None:
        monthly = self.monthly(volume)
        if monthly is None or volume <= 0:
            return None
        return monthly / (volume * DAYS_PER_MONTH) * 1000


def _need(value: float | None, name: str, unknown: list[str]) -> float | None:
    if value is None:
        unknown.append(name)
    return value


def _sum(values: Sequence[float | None]) -> float | None:
    return None if any(v is None for v in values) else float(sum(values))  # type: ignore[arg-type]


def serving_cost(price: OptionPrice, prompt: float | None, context: float | None, completion: float | None,
                 seconds: float | None, unknown: list[str]) -> float | None:
    """Cost of serving one query."""
    if isinstance(price.serving, ApiPrice):
        p = _need(prompt, "prompt_tokens", unknown)
        c = _need(context, "context_tokens", unknown) if RETRIEVES[price.name] else 0.0
        o = _need(completion, "completion_tokens", unknown)
        if p is None or c is None or o is None:
            return None
        return ((p + c) * price.serving.input_per_1m + o * price.serving.output_per_1m) / 1e6
    assert isinstance(price.serving, LocalPrice)
    s = price.serving.seconds_per_query if price.serving.seconds_per_query is not None else seconds
    if _need(s, "seconds_per_query", unknown) is None:
        return None
    return price.serving.per_hour * s / 3600 / price.serving.concurrency  # type: ignore[operator]


def retrains_per_month(every_days: float | None) -> float | None:
    if every_days is None:
        return None
    return 0.0 if every_days <= 0 or math.isinf(every_days) else DAYS_PER_MONTH / every_days


def option_cost(price: OptionPrice, sheet: PriceSheet, inputs: Inputs) -> OptionCost:
    name = price.name
    unknown: list[str] = []
    per_query = serving_cost(price, inputs.prompt_tokens.get(name), inputs.context_tokens,
                             inputs.completion_tokens.get(name), inputs.seconds_per_query.get(name), unknown)
    parts: dict[str, float | None] = {"serving_per_query": per_query, "fixed_per_month": price.fixed_per_month}
    one_off: list[float | None] = []
    horizon = inputs.horizon_months
    if RETRIEVES[name]:
        rate = sheet.embedding_per_hour
        seconds = _need(inputs.embed_seconds_per_chunk, "embed_seconds_per_chunk", unknown)
        chunks = _need(inputs.corpus_chunks, "corpus_chunks", unknown)
        changed = _need(inputs.chunks_changed_per_day, "chunks_changed_per_day", unknown)
        first = None if None in (rate, seconds, chunks) else chunks * seconds / 3600 * rate  # type: ignore
        fresh = None if None in (rate, seconds, changed) else (
            changed * seconds / 3600 * rate * DAYS_PER_MONTH)  # type: ignore[operator]
        parts.update(index_first=first, index_upkeep_per_month=fresh)
        parts["index_first_per_month"] = None if first is None else first / horizon
        one_off.append(first)
    if TRAINS[name]:
        rate = sheet.training_per_hour
        train = _need(inputs.training_hours, "training_hours", unknown)
        evaluate = _need(inputs.eval_hours, "eval_hours", unknown)
        per_retrain = None if None in (rate, train, evaluate) else (train + evaluate) * rate  # type: ignore
        every = retrains_per_month(_need(inputs.retrain_every_days, "retrain_every_days", unknown))
        parts.update(training_first=per_retrain, retrain_each=per_retrain,
                     retrains_per_month=every,
                     retraining_per_month=None if None in (per_retrain, every) else per_retrain * every)  # type: ignore
        parts["training_first_per_month"] = None if per_retrain is None else per_retrain / horizon
        one_off.append(per_retrain)
    fixed = _sum([price.fixed_per_month, parts.get("index_upkeep_per_month", 0.0),
                  parts.get("index_first_per_month", 0.0), parts.get("retraining_per_month", 0.0),
                  parts.get("training_first_per_month", 0.0)])
    return OptionCost(name, per_query, fixed, _sum(one_off), parts, sorted(set(unknown)))


def needed_inputs(sheet: PriceSheet) -> set[str]:
    """The inputs the priced options use (as :func:`measure.resolve` names them): API options need tokens, local
    ones seconds; retrieval needs the index's figures, training the registry's and the cadence."""
    needed = {"horizon_months"}
    for name, price in sheet.options.items():
        if isinstance(price.serving, ApiPrice):
            needed |= {f"prompt_tokens.{name}", f"completion_tokens.{name}"}
            if RETRIEVES[name]:
                needed.add("context_tokens")
        elif price.serving.seconds_per_query is None:
            needed.add(f"seconds_per_query.{name}")
        if RETRIEVES[name]:
            needed |= {"embed_seconds_per_chunk", "corpus_chunks", "chunks_changed_per_day"}
        if TRAINS[name]:
            needed |= {"training_hours", "eval_hours", "retrain_every_days"}
    return needed


def costs(sheet: PriceSheet, inputs: Inputs) -> dict[str, OptionCost]:
    """Every priced option, in the canonical order."""
    return {n: option_cost(sheet.options[n], sheet, inputs) for n in OPTIONS if n in sheet.options}


@dataclass(frozen=True)
class BreakEven:
    a: str
    b: str
    volume: float  # queries a day where both cost the same
    below: str  # cheaper under that volume
    above: str  # cheaper over it

    def to_json(self) -> dict:
        return {"options": [self.a, self.b], "queries_per_day": round(self.volume, 2), "cheaper_below": self.below,
                "cheaper_above": self.above}


def break_even(fixed_a: float, per_query_a: float, fixed_b: float, per_query_b: float) -> float | None:
    """Queries a day where two lines meet; None when they are parallel or meet only at zero or below."""
    slope = (per_query_a - per_query_b) * DAYS_PER_MONTH
    if slope == 0:
        return None
    volume = (fixed_b - fixed_a) / slope
    return volume if volume > 0 else None


def break_evens(options: Mapping[str, OptionCost]) -> list[BreakEven]:
    out = []
    complete = [c for c in options.values() if c.complete]
    for i, a in enumerate(complete):
        for b in complete[i + 1:]:
            volume = break_even(a.fixed_per_month, a.per_query, b.fixed_per_month, b.per_query)  # type: ignore
            if volume is None:
                continue
            cheaper_fixed = a if a.fixed_per_month < b.fixed_per_month else b  # type: ignore[operator]
            other = b if cheaper_fixed is a else a
            out.append(BreakEven(a.option, b.option, volume, cheaper_fixed.option, other.option))
    return out


def cheapest(options: Mapping[str, OptionCost], volume: float, among: Sequence[str] | None = None) -> str | None:
    candidates = [c for n, c in options.items() if c.complete and (among is None or n in among)]
    if not candidates:
        return None
    return min(candidates, key=lambda c: (c.monthly(volume), OPTIONS.index(c.option))).option


def sweep_volumes(low: float, high: float, extra: Sequence[float] = ()) -> list[float]:
    """``low``, ``high``, the 1-2-5 steps between them and any ``extra`` volumes inside (break-evens), sorted."""
    if low < 0 or high < low:
        raise ValueError(f"sweep {low}..{high}: expected 0 <= A <= B")
    points = {float(low), float(high)}
    decade = 10 ** math.floor(math.log10(low)) if low > 0 else 1.0
    while decade <= high:
        for step in (1, 2, 5):
            if low < step * decade < high:
                points.add(float(step * decade))
        decade *= 10
    points.update(v for v in extra if low <= v <= high)
    return sorted(points)


# ---- the recommendation ---------------------------------------------------------------------------------------

# Which options can meet the quality target, given diagnose's verdict on the base model: knowledge problems need
# retrieval, behaviour problems need training; a prompt that works leaves every option open.
ADEQUATE = {"prompt": OPTIONS, "rag": ("rag", "rag+finetune"), "finetune": ("finetune", "rag+finetune"),
            "both": ("rag+finetune",)}
LABEL = {"prompt": "a prompted model", "rag": "RAG", "finetune": "a fine-tuned adapter",
         "rag+finetune": "RAG with a fine-tuned adapter"}


def _days(value: float | None) -> str:
    if value is None:
        return "an unknown cadence"
    if value <= 0 or math.isinf(value):
        return "no retraining (the corpus does not change)"
    return f"a retrain every {value:.0f} days"


def recommend(options: Mapping[str, OptionCost], volume: float | None, verdict: str | None,
              retrain_every_days: float | None, currency: str) -> str:
    """One sentence: the option to use now (quality first: only options the verdict allows; then the cheapest at
    ``volume``) and, when another adequate option gets cheaper at a higher volume, where it pays off."""
    among = ADEQUATE.get(verdict or "", OPTIONS)
    priced = [n for n in among if n in options and options[n].complete]
    why = f"diagnose says {verdict}" if verdict else "no diagnose verdict yet, so on cost alone"
    if not priced:
        missing = ", ".join(n for n in among if n not in options) or ", ".join(among)
        unknown = sorted({u for n in among if n in options for u in options[n].unknown})
        need = f"price {missing} in the sheet" if any(n not in options for n in among) else (
            f"measure or give {', '.join(unknown)}")
        return f"No recommendation yet ({why}): {need} to compare the options that can meet the target."
    at = volume if volume is not None else 0.0
    best = cheapest(options, at, priced)
    assert best is not None
    cost = options[best].monthly(at)
    sentence = f"{LABEL[best][0].upper()}{LABEL[best][1:]} now"
    if volume is not None:
        sentence += f" ({cost:,.2f} {currency} a month at {volume:,.0f} queries/day)"
    later = []
    for other in priced:
        if other == best:
            continue
        b = options[best]
        o = options[other]
        point = break_even(b.fixed_per_month, b.per_query, o.fixed_per_month, o.per_query)  # type: ignore[arg-type]
        if point is not None and point > at and o.per_query < b.per_query:  # type: ignore[operator]
            later.append((point, other))
    if later:
        point, other = min(later)
        sentence += f"; {LABEL[other]} pays off above {point:,.0f} queries/day"
        if TRAINS[other]:
            sentence += f" given {_days(retrain_every_days)}"
    return f"{sentence} ({why})."
