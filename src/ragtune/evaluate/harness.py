"""The evaluation harness: run a model over an eval set under a named condition and score every item.

Conditions (what the model is given):
- ``closed_book``: the question (or a behaviour item's input) alone;
- ``oracle``: the gold context in the prompt (the item's ``context``, else its gold documents' text); for
  behaviour items the input already holds all the information, so oracle equals closed-book;
- ``retrieval``: the full RAG pipeline (``ask``), with abstention and citations;
- ``few_shot``: k solved examples before the item (from ``train`` when given, else other items of the set —
  never the item being scored);
- ``oracle+few_shot``: both, each example a grounded turn with its own gold passage (the prompts and examples are
  built in :mod:`ragtune.evaluate.conditions`);
- ``adapter`` / ``adapter+retrieval``: the closed-book prompt / the RAG pipeline, answered by the base model with
  a LoRA adapter (the caller passes that generator) — the fine-tuning side of the comparison.

Items are generated in batches (:func:`ragtune.models.generator.generate_many`; ``Settings.eval_batch_size``):
a window of items is prepared (prompts built, or retrieval run and grounded prompts built, through the same
functions ``ask`` uses), their prompts are decoded together, and each item is finished (scored; for retrieval,
citations verified and abstention decided, again by ``ask``'s own code). Batched decoding gives the tokens
one-at-a-time decoding gives, so the batch size changes speed, never results.

Per-item results are appended to ``runs/<run id>/items.jsonl`` as they complete (a batch at a time, so not
necessarily in item order), so an interrupted run resumes where it stopped and a report can be rebuilt without
running the model again. A model that returns garbage, or fails on one item, never stops the run: the item is
scored (or recorded with its error) and the run goes on.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

from ragtune.config import AnswerConfig
from ragtune.errors import InputError
from ragtune.evaluate.answer_metrics import (
    answer_contained,
    citation_precision,
    exact_match,
    field_accuracy,
    json_valid,
    output_exact_match,
    parse_json,
    token_f1,
)
from ragtune.evaluate.bootstrap import Estimate, estimate
from ragtune.evaluate.conditions import ExamplePool, item_messages
from ragtune.evaluate.datasets import BehaviourItem, EvalItem, QAItem
from ragtune.evaluate.diagnose import ItemScores
from ragtune.generate.answer import (
    MODEL_ABSTAINS,
    PreparedAnswer,
    finish_answer,
    prepare_answer,
    token_counts,
)
from ragtune.generate.prompts import first_answer
from ragtune.models.generator import Generator, Request, generate_many
from ragtune.retrieve.searcher import Searcher
from ragtune.types import Generation

CONDITIONS = ("closed_book", "oracle", "retrieval", "few_shot", "oracle+few_shot", "adapter", "adapter+retrieval")
ADAPTER_CONDITIONS = {"adapter": "closed_book", "adapter+retrieval": "retrieval"}  # → the prompt each one uses
DEFAULT_SHOTS = 3
WINDOW_BATCHES = 8  # items prepared at once = batch size × this: prompts of similar length then share a batch
# Bump when prompts or scoring change, so saved runs are not resumed into results they no longer match.
HARNESS_VERSION = 3  # 3: few-shot examples take the shape of the prompt they precede (evaluate/conditions.py)


def behaviour_token_budget(expected: str, floor: int) -> int:
    """New tokens allowed for a behaviour item: about twice the expected output (≈ 3 characters a token), so a
    right answer always fits and a rambling one is cut instead of running for hundreds of tokens."""
    return max(floor, min(512, 2 * (len(expected) // 3 + 8)))


@dataclass(frozen=True)
class ItemResult:
    item_id: str
    condition: str
    prediction: str
    abstained: bool
    metrics: dict[str, float | None]
    cited_doc_ids: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    tokens: dict | None = None  # {"prompt", "context", "completion"} (see generate.answer.token_counts)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class EvalRun:
    run_id: str
    condition: str
    run_dir: Path
    items: list[ItemResult]
    metrics: dict[str, Estimate]

    def to_json(self) -> dict:
        return {"run_id": self.run_id, "condition": self.condition, "run_dir": str(self.run_dir),
                "n": len(self.items), "errors": sum(1 for i in self.items if i.error),
                "metrics": {k: v.to_json() for k, v in self.metrics.items()},
                "items": [i.to_json() for i in self.items]}


# ---- scoring ---------------------------------------------------------------------------------------------------


def score(item: EvalItem, prediction: str, abstained: bool, cited: Sequence[str]) -> dict[str, float | None]:
    if isinstance(item, BehaviourItem):
        metrics: dict[str, float | None] = {"exact_match": output_exact_match(prediction, item.output)}
        if isinstance(parse_json(item.output), dict):
            metrics.update(json_valid=json_valid(prediction), field_accuracy=field_accuracy(prediction, item.output))
        return metrics
    if not item.answerable:
        return {"abstain_correct": float(abstained)}
    answer = "" if abstained else prediction
    metrics = {"exact_match": exact_match(answer, item.answers), "f1": token_f1(answer, item.answers),
               "answer_contained": answer_contained(answer, item.answers), "false_abstain": float(abstained)}
    if item.gold_doc_ids:
        metrics["citation_precision"] = citation_precision(cited, item.gold_doc_ids)
    return metrics


def summarize(results: Sequence[ItemResult], seed: int = 0) -> dict[str, Estimate]:
    """Mean and 95% bootstrap CI of each metric over the items where it applies."""
    names = {"abstain_correct": "abstain_rate"}
    values: dict[str, list[float]] = {}
    for r in results:
        for name, value in r.metrics.items():
            if value is not None:
                values.setdefault(names.get(name, name), []).append(value)
    return {name: estimate(v, seed=seed) for name, v in values.items()}


# ---- running ---------------------------------------------------------------------------------------------------


def run_id(items_path: Path, condition: str, identity: dict) -> str:
    digest = hashlib.sha256(items_path.read_bytes())
    payload = {"condition": condition, "harness": HARNESS_VERSION, **identity}
    digest.update(json.dumps(payload, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:12]


def _load_done(path: Path) -> dict[str, ItemResult]:
    done: dict[str, ItemResult] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                data = json.loads(line)
                done[data["item_id"]] = ItemResult(**data)
            except (ValueError, TypeError, KeyError):
                continue  # a line cut short by an interrupt: that item runs again
    return done


def run_condition(
    items: Sequence[EvalItem],
    condition: str,
    *,
    generator: Generator,
    config: AnswerConfig,
    run_dir: Path,
    searcher: Searcher | None = None,
    gold_texts: dict[str, str] | None = None,
    train: Sequence[EvalItem] | None = None,
    shots: int = DEFAULT_SHOTS,
    seed: int = 0,
    batch_size: int = 1,
    on_item: Callable[[int, int], None] | None = None,
) -> EvalRun:
    """Run ``condition`` over ``items``; results come back in item order. ``batch_size`` is how many prompts are
    decoded together (see the module docstring); ``on_item(done, total)`` reports progress."""
    if condition not in CONDITIONS:
        raise InputError(f"condition {condition!r}: expected one of {', '.join(CONDITIONS)}")
    if batch_size < 1:
        raise InputError(f"batch_size={batch_size}: must be at least 1")
    if prompt_condition(condition) == "retrieval":
        if searcher is None:
            raise InputError("the retrieval condition needs a corpus: pass --corpus")
        # behaviour items have no question to retrieve for: a mixed set runs retrieval on its QA items only
        items = [i for i in items if isinstance(i, QAItem)]
        if not items:
            raise InputError("the retrieval condition applies to QA items only; behaviour items have no question")
    run_dir.mkdir(parents=True, exist_ok=True)
    items_path = run_dir / "items.jsonl"
    done = _load_done(items_path)
    pool = ExamplePool(tuple(train or ()), tuple(items))
    todo = [item for item in items if item.item_id not in done]
    progress = len(items) - len(todo)
    for n in range(1, progress + 1):
        if on_item:
            on_item(n, len(items))
    with items_path.open("a") as out:

        def record(result: ItemResult) -> None:
            nonlocal progress
            out.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
            out.flush()
            done[result.item_id] = result
            progress += 1
            if on_item:
                on_item(progress, len(items))

        window = batch_size * WINDOW_BATCHES
        for start in range(0, len(todo), window):
            pending: list[_Prepared] = []
            for item in todo[start:start + window]:
                prepared = _prepare(item, condition, config, searcher, gold_texts or {}, pool, shots, seed)
                if isinstance(prepared, ItemResult):
                    record(prepared)  # it failed before reaching the model
                elif prepared.request is None:
                    record(_finish(prepared, None, generator))  # answered without the model (nothing relevant)
                else:
                    pending.append(prepared)
            generate_many(generator, [p.request for p in pending if p.request is not None], batch_size=batch_size,
                          on_result=lambda i, generation, pending=pending: record(
                              _finish(pending[i], generation, generator)))
    results = [done[item.item_id] for item in items]
    return EvalRun(run_dir.name, condition, run_dir, results, summarize(results, seed))


def prompt_condition(condition: str) -> str:
    """The prompt a condition uses (adapter conditions reuse the base conditions' prompts)."""
    return ADAPTER_CONDITIONS.get(condition, condition)


@dataclass(frozen=True)
class _Prepared:
    """An item up to the model call: the request to generate (None when the reply needs no model) and, for the
    retrieval prompt, the prepared grounded answer."""

    item: EvalItem
    condition: str
    request: Request | None
    grounded: PreparedAnswer | None
    seconds: float  # spent preparing


def _failed(item: EvalItem, condition: str, exc: Exception, seconds: float) -> ItemResult:
    return ItemResult(item.item_id, condition, "", False, score(item, "", False, []), [],
                      f"{type(exc).__name__}: {exc}", seconds)


def _prepare(item: EvalItem, condition: str, config: AnswerConfig, searcher: Searcher | None,
             gold_texts: dict[str, str], pool: ExamplePool, shots: int, seed: int) -> _Prepared | ItemResult:
    started = time.perf_counter()
    prompt = prompt_condition(condition)
    try:
        if prompt == "retrieval":
            assert isinstance(item, QAItem) and searcher is not None
            grounded = prepare_answer(item.question, searcher=searcher, config=config)
            request = None if grounded.decided is not None else (grounded.messages, config.params)
            return _Prepared(item, condition, request, grounded, time.perf_counter() - started)
        messages = item_messages(item, prompt, pool, gold_texts, shots, seed)
        params = config.params
        if isinstance(item, BehaviourItem):  # answer-length caps are for QA; leave room for the full output
            params = replace(params, max_new_tokens=behaviour_token_budget(item.output, params.max_new_tokens))
        return _Prepared(item, condition, (messages, params), None, time.perf_counter() - started)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 — one bad item must not end the run
        return _failed(item, condition, exc, time.perf_counter() - started)


def _finish(prepared: _Prepared, generation: Generation | Exception | None, generator: Generator) -> ItemResult:
    """Score one item from its generation (an exception when the model failed on it). Its ``seconds`` are its
    own preparation and finishing plus its generation's (a batch's time shared among its rows)."""
    started = time.perf_counter()
    item, condition = prepared.item, prepared.condition
    spent = prepared.seconds + (generation.seconds if isinstance(generation, Generation) else 0.0)
    try:
        if isinstance(generation, Exception):
            raise generation
        cited: list[str] = []
        if prepared.grounded is not None:
            answer = finish_answer(prepared.grounded, generation, generator.identity)
            prediction, abstained = answer.answer, answer.abstained
            cited = [c.doc_id for c in answer.citations]
            tokens = answer.tokens
        else:
            assert generation is not None and prepared.request is not None
            text = generation.text
            # no retrieved sources here (an oracle's gold passage is the item's own, not what RAG would add)
            tokens = token_counts(generation, prepared.request[0], 0)
            prediction = first_answer(text) if isinstance(item, QAItem) else text.strip()
            abstained = isinstance(item, QAItem) and bool(MODEL_ABSTAINS.search(prediction))
        return ItemResult(item.item_id, condition, prediction, abstained, score(item, prediction, abstained, cited),
                          cited, None, spent + time.perf_counter() - started, tokens)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 — one bad item (or a model failure on it) must not end the run
        return _failed(item, condition, exc, spent + time.perf_counter() - started)


def primary_score(item: EvalItem, metrics: dict[str, float | None]) -> float | None:
    """The score diagnose decides on: content for answerable QA items, the exact output for behaviour items;
    None for unanswerable items (reported as abstention evidence, not part of the verdict)."""
    if isinstance(item, BehaviourItem):
        value = metrics.get("field_accuracy")
        return value if value is not None else metrics.get("exact_match")
    if not item.answerable:
        return None
    return metrics.get("answer_contained")


def item_scores(runs: dict[str, EvalRun], items: Sequence[EvalItem]) -> list[ItemScores]:
    """Per-item primary scores across conditions: the one scoring path behind diagnose and the adapter
    promotion gate. An item whose run errored (the model failed on it) scores 0 — to the user it is a failure
    of that condition — and is named in ``errors`` so the evidence can say so."""
    by_condition = {c: {r.item_id: r for r in run.items} for c, run in runs.items()}
    scored = []
    for item in items:
        scores: dict[str, float] = {}
        errors: list[str] = []
        for condition, results in by_condition.items():
            result = results.get(item.item_id)
            if result is None:
                continue
            value = primary_score(item, result.metrics)
            if value is None:  # unanswerable QA: abstention evidence, not part of the verdict
                continue
            if result.error is not None:
                errors.append(condition)
                value = 0.0
            scores[condition] = value
        if scores:
            kind = "behaviour" if isinstance(item, BehaviourItem) else "qa"
            scored.append(ItemScores(item.item_id, kind, scores, tuple(errors)))
    return scored
