"""The steps of ``ragtune finetune`` — data checks → LoRA training → registration → before/after evaluation — as
functions with narrow inputs; :class:`ragtune.components.tuning.Tuner` runs them in order.

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
from typing import Callable

from ragtune.config import AnswerConfig, LoraConfig
from ragtune.errors import InputError, ModelError
from ragtune.evaluate.bootstrap import paired_bootstrap_diff
from ragtune.evaluate.datasets import BehaviourItem, QAItem
from ragtune.evaluate.harness import EvalRun, item_scores, run_condition
from ragtune.files import file_sha256
from ragtune.finetune.checks import CheckReport, ensure_trainable, run_checks
from ragtune.finetune.examples import TrainingExample, read_training_examples
from ragtune.finetune.registry import AdapterRecord, AdapterRegistry
from ragtune.finetune.train import TrainResult, split_eval, token_counter
from ragtune.models.cache import DEFAULT_GENERATOR, DEFAULT_MODEL_ID, converted_model_dir
from ragtune.models.generator import Generator
from ragtune.retrieve.searcher import Searcher

MAX_EVAL_LOSS_EXAMPLES = 200
DEFAULT_EVAL_LIMIT = 100  # before/after items: enough for a ±0.05-wide CI on field accuracy, minutes on a CPU


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


@dataclass(frozen=True)
class TrainingData:
    """Checked training data: what trains, what is held out for eval loss and the before/after evaluation."""

    train: list[TrainingExample]
    held: list[TrainingExample]
    checks: CheckReport
    train_sha256: str
    eval_sha256: str | None


def prepare_data(train_path: Path, eval_path: Path | None, config: LoraConfig, model_dir: Path, *, force: bool,
                 on_checks: Callable[[CheckReport], None] | None = None) -> TrainingData:
    """Read and check the data (errors stop here unless ``force``), then hold out a share when no eval file is
    given. The checks see the whole training file (before any automatic split) and, for leakage, the eval set
    the user gives. The automatic split keeps identical prompts on one side; near-paraphrases may straddle it,
    which only makes early stopping slightly optimistic."""
    train = read_training_examples(Path(train_path))
    held = read_training_examples(Path(eval_path)) if eval_path is not None else None
    report = run_checks(train, held, count_tokens=token_counter(model_dir), max_length=config.max_length)
    if on_checks:
        on_checks(report)
    ensure_trainable(report, force)
    if held is None:
        train, held = split_eval(train, config.eval_fraction, config.seed)
        if not train:
            raise InputError(f"{train_path}: too few distinct prompts to hold some out for evaluation; "
                             "add examples or pass --eval")
    return TrainingData(train, held, report, file_sha256(Path(train_path)),
                        file_sha256(Path(eval_path)) if eval_path else None)


def run_key(data: TrainingData, model_hash: str, config: LoraConfig) -> str:
    """Names the work folder, so the same command with the same data, model and settings resumes there."""
    payload = json.dumps([data.train_sha256, data.eval_sha256, model_hash, asdict(config)], default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def register_adapter(registry: AdapterRegistry, result: TrainResult, data: TrainingData, *, name: str,
                     train_path: Path, eval_path: Path | None, base: str, model_id: str, model_hash: str,
                     config: LoraConfig, corpus_snapshot: dict | None) -> AdapterRecord:
    return registry.add(
        name, result.adapter_dir,
        base_model={"model": base, "id": model_id, "hash": model_hash},
        data={"train": str(Path(train_path).resolve()), "train_sha256": data.train_sha256, "n_train": len(data.train),
              "eval": str(Path(eval_path).resolve()) if eval_path else None, "eval_sha256": data.eval_sha256,
              "n_eval": len(data.held), "eval_split": "given" if eval_path else f"held out {config.eval_fraction:.0%}"},
        hyperparameters={k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()},
        training={k: v for k, v in result.to_json().items() if k not in ("adapter_dir",)},
        corpus_snapshot=corpus_snapshot)


def before_after(data: TrainingData, *, base: Generator, adapter: Generator, answer: AnswerConfig, runs_dir: Path,
                 limit: int, shots: int, searcher: Searcher | None = None, batch_size: int = 1,
                 on_item: Callable[[str, int, int], None] | None = None) -> dict:
    """Base closed-book, base few-shot (shots from the training set) and the adapter on the held-out items, plus
    adapter + retrieval when a ``searcher`` over a corpus is given."""
    items = eval_items(data.held)[:limit]
    if not items:
        raise InputError("no single-turn held-out examples to evaluate on (chat examples with several turns "
                         "cannot be replayed by the harness); pass --no-eval to skip the evaluation")
    plan: list[tuple[str, Generator, list]] = [("closed_book", base, items), ("few_shot", base, items),
                                               ("adapter", adapter, items)]
    if searcher is not None:
        questions = [QAItem(i.item_id, i.input, (i.output,), True, (), None, i.line) for i in items]
        plan.append(("adapter+retrieval", adapter, questions))
    pool = eval_items(data.train)
    runs: dict[str, EvalRun] = {}
    for condition, generator, condition_items in plan:
        progress = (lambda done, total, c=condition: on_item(c, done, total)) if on_item else None
        runs[condition] = run_condition(
            condition_items, condition, generator=generator, config=answer,
            run_dir=runs_dir / condition.replace("+", "_"), searcher=searcher, train=pool,
            shots=shots, batch_size=batch_size, on_item=progress)
    return summarize_before_after(runs, items)


def summarize_before_after(runs: dict[str, EvalRun], items: list[BehaviourItem]) -> dict:
    """Per condition: every metric with its CI; plus paired (adapter − baseline) differences of the primary score,
    from the same per-item scores diagnose uses (an item that errored counts as a failure in both)."""
    scores = {s.item_id: s.scores for s in item_scores(runs, items)}
    out: dict = {"n": len(items), "conditions": {}}
    for condition, run in runs.items():
        out["conditions"][condition] = {"run_id": run.run_id,
                                        "metrics": {k: v.to_json() for k, v in run.metrics.items()}}
    # what the evaluation took (read by `ragtune cost` as the evaluation cost of each retrain)
    out["seconds"] = round(sum(i.seconds for run in runs.values() for i in run.items), 3)
    for baseline in ("few_shot", "closed_book"):
        common = [i for i, s in scores.items() if "adapter" in s and baseline in s]
        if common:
            mean, lo, hi = paired_bootstrap_diff([scores[i]["adapter"] for i in common],
                                                 [scores[i][baseline] for i in common])
            out[f"adapter_vs_{baseline}"] = {"mean": round(mean, 4), "ci95": [round(lo, 4), round(hi, 4)],
                                             "n": len(common)}
    return out
