"""``ragtune finetune``: data checks → LoRA training → registration → before/after evaluation.

The before/after evaluation is the honest comparison: on the held-out examples, the base model closed-book, the
base model with few-shot examples drawn from the training set (what a better prompt alone achieves), and the
adapter — plus adapter + retrieval when a corpus is given. Scores are the harness's (field accuracy for JSON
outputs, exact match otherwise) with bootstrap CIs, and (adapter − few-shot) is a paired difference on the same
items; the registry refuses promotion unless that difference's CI is above zero.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ragtune.config import GeneratorConfig, LoraConfig
from ragtune.errors import InputError, ModelError
from ragtune.evaluate.bootstrap import paired_bootstrap_diff
from ragtune.evaluate.datasets import BehaviourItem, QAItem
from ragtune.evaluate.harness import DEFAULT_SHOTS, EvalRun, primary_score, run_condition
from ragtune.finetune.checks import CheckReport, ensure_trainable, run_checks
from ragtune.finetune.examples import TrainingExample, read_training_examples
from ragtune.finetune.registry import AdapterRecord
from ragtune.finetune.train import Progress, TrainResult, split_eval, token_counter, train_lora
from ragtune.models.cache import DEFAULT_GENERATOR, DEFAULT_MODEL_ID, converted_model_dir, file_sha256
from ragtune.models.local import folder_hash

if TYPE_CHECKING:
    from ragtune.index import Index

MAX_EVAL_LOSS_EXAMPLES = 200
DEFAULT_EVAL_LIMIT = 100  # before/after items: enough for a ±0.05-wide CI on field accuracy, minutes on a CPU


@dataclass
class FinetuneResult:
    adapter: AdapterRecord
    training: TrainResult
    checks: CheckReport
    evaluation: dict | None

    def to_json(self) -> dict:
        return {"id": self.adapter.id, "adapter": self.adapter.to_json(), "training": self.training.to_json(),
                "checks": self.checks.to_json(), "evaluation": self.evaluation}


def base_model_dir(model: str) -> tuple[Path, str]:
    """The folder and id of the model to train on: the bundled default, or a local transformers folder."""
    if model == DEFAULT_GENERATOR:
        return converted_model_dir(), DEFAULT_MODEL_ID
    folder = Path(model).expanduser()
    if not (folder / "config.json").is_file():
        raise ModelError(f"base model {model}: not a local transformers folder (no config.json); fine-tuning "
                         "needs local weights, not a server")
    return folder.resolve(), folder.name


def eval_items(examples: list[TrainingExample]) -> list[BehaviourItem]:
    """Held-out examples as harness behaviour items (single-turn prompts only: the harness builds the prompt)."""
    items = []
    for e in examples:
        if len(e.prompt) == 1 and e.prompt[0]["role"] == "user":
            items.append(BehaviourItem(e.example_id, e.prompt[0]["content"], e.completion, e.line))
    return items


def run_finetune(
    index: "Index",
    train_path: Path,
    *,
    eval_path: Path | None = None,
    name: str | None = None,
    base: str | None = None,
    config: LoraConfig = LoraConfig(),
    corpus: Path | None = None,
    force: bool = False,
    evaluate: bool = True,
    eval_limit: int = DEFAULT_EVAL_LIMIT,
    shots: int = DEFAULT_SHOTS,
    on_checks: Callable[[CheckReport], None] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_eval_item: Callable[[str, int, int], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> FinetuneResult:
    if index.settings.generator.base_url and base is None:
        raise ModelError("fine-tuning trains local weights; the configured generator is a server "
                         "(RAGTUNE_BASE_URL): pass --base with a local model folder")
    base = base or index.settings.generator.model
    train = read_training_examples(Path(train_path))
    held = read_training_examples(Path(eval_path)) if eval_path is not None else None
    model_dir, model_id = base_model_dir(base)
    # The checks see the whole training file (before any automatic split) and, for leakage, the eval set the
    # user gives. The automatic split keeps identical prompts on one side; near-paraphrases may straddle it,
    # which only makes early stopping slightly optimistic.
    report = run_checks(train, held, count_tokens=token_counter(model_dir), max_length=config.max_length)
    if on_checks:
        on_checks(report)
    ensure_trainable(report, force)
    if held is None:
        train, held = split_eval(train, config.eval_fraction, config.seed)
        if not train:
            raise InputError(f"{train_path}: too few distinct prompts to hold some out for evaluation; "
                             "add examples or pass --eval")

    train_hash = file_sha256(Path(train_path))
    eval_hash = file_sha256(Path(eval_path)) if eval_path else None
    model_hash = folder_hash(model_dir)
    key = hashlib.sha256(json.dumps([train_hash, eval_hash, model_hash, asdict(config)], default=str)
                         .encode()).hexdigest()[:12]
    work_dir = index.home / "adapters" / ".runs" / key  # the same command resumes an interrupted run here
    # eval loss runs twice an epoch: a sample of a large --eval file measures it as well, at a fraction of the cost
    result = train_lora(train, held[:MAX_EVAL_LOSS_EXAMPLES], model_dir=model_dir, work_dir=work_dir, config=config,
                        device=index.settings.device, on_progress=on_progress, should_stop=should_stop)

    source = index if corpus is None else index.eval_source(corpus)
    documents = source.store.document_versions()
    snapshot = None
    if documents:  # what the corpus looked like at training time, for `adapters status`
        snapshot = {"store_version": source.store.version(), "documents": documents,
                    "source": str(Path(corpus).resolve()) if corpus is not None else None}
    record = index.adapters.add(
        name or Path(train_path).stem.lower().replace(" ", "-"), result.adapter_dir,
        base_model={"model": base, "id": model_id, "hash": model_hash},
        data={"train": str(Path(train_path).resolve()), "train_sha256": train_hash, "n_train": len(train),
              "eval": str(Path(eval_path).resolve()) if eval_path else None, "eval_sha256": eval_hash,
              "n_eval": len(held), "eval_split": "given" if eval_path else f"held out {config.eval_fraction:.0%}"},
        hyperparameters={k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()},
        training={k: v for k, v in result.to_json().items() if k not in ("adapter_dir",)},
        corpus_snapshot=snapshot)
    evaluation = None
    if evaluate:
        evaluation = before_after(index, record, train, held, base=base, corpus=corpus, limit=eval_limit,
                                  shots=shots, on_item=on_eval_item)
        record = index.adapters.record_metrics(record.id, "eval", evaluation)
    return FinetuneResult(record, result, report, evaluation)


def before_after(index: "Index", record: AdapterRecord, train: list[TrainingExample], held: list[TrainingExample],
                 *, base: str, corpus: Path | None, limit: int, shots: int,
                 on_item: Callable[[str, int, int], None] | None = None) -> dict:
    """Base closed-book, base few-shot (shots from the training set) and the adapter on the held-out items."""
    items = eval_items(held)[:limit]
    if not items:
        raise InputError("no single-turn held-out examples to evaluate on (chat examples with several turns "
                         "cannot be replayed by the harness); pass --no-eval to skip the evaluation")
    pool = eval_items(train)
    config = GeneratorConfig(model=base, base_url=None, api_key=None)
    base_generator = index.generator(None, config)
    adapter_generator = index.generator((record.path, record.id), config)
    runs_dir = index.home / "runs" / f"finetune-{record.id}"
    plan: list[tuple[str, object, list]] = [("closed_book", base_generator, items),
                                            ("few_shot", base_generator, items),
                                            ("adapter", adapter_generator, items)]
    searcher = None
    if corpus is not None:
        searcher = index.eval_source(corpus).searcher
        questions = [QAItem(i.item_id, i.input, (i.output,), True, (), None, i.line) for i in items]
        plan.append(("adapter+retrieval", adapter_generator, questions))
    runs: dict[str, EvalRun] = {}
    for condition, generator, condition_items in plan:
        progress = (lambda done, total, c=condition: on_item(c, done, total)) if on_item else None
        runs[condition] = run_condition(
            condition_items, condition, generator=generator, config=index.settings.answer,
            run_dir=runs_dir / condition.replace("+", "_"), searcher=searcher, train=pool, shots=shots,
            on_item=progress)
    return summarize_before_after(runs, items)


def summarize_before_after(runs: dict[str, EvalRun], items: list[BehaviourItem]) -> dict:
    """Per condition: primary score with CI and every metric; plus paired (adapter − baseline) differences."""
    by_id = {i.item_id: i for i in items}
    scores: dict[str, dict[str, float]] = {}
    for condition, run in runs.items():
        scores[condition] = {}
        for r in run.items:
            value = primary_score(by_id[r.item_id], r.metrics) if r.item_id in by_id and r.error is None else 0.0
            scores[condition][r.item_id] = value if value is not None else 0.0
    out: dict = {"n": len(items), "conditions": {}}
    for condition, run in runs.items():
        out["conditions"][condition] = {"run_id": run.run_id,
                                        "metrics": {k: v.to_json() for k, v in run.metrics.items()}}
    for baseline in ("few_shot", "closed_book"):
        common = [i for i in scores.get("adapter", {}) if i in scores.get(baseline, {})]
        if common:
            mean, lo, hi = paired_bootstrap_diff([scores["adapter"][i] for i in common],
                                                 [scores[baseline][i] for i in common])
            out[f"adapter_vs_{baseline}"] = {"mean": round(mean, 4), "ci95": [round(lo, 4), round(hi, 4)],
                                             "n": len(common)}
    return out
