"""LoRA training on a local causal LM (CPU-friendly), with early stopping and resumable checkpoints.

The loop is deliberately plain — peft for LoRA, torch's AdamW, transformers' warmup schedule — because on a CPU
the cost is the forward/backward pass and everything else should stay out of its way:
- the prompt is rendered exactly as :class:`ragtune.models.local.LocalGenerator` renders it at inference
  (:func:`render_prompt`), and the loss covers the completion tokens (plus the end-of-turn token) only;
- batches group examples of similar length (:func:`epoch_batches`) and are padded to their own longest example,
  not to ``max_length``;
- the eval loss is measured ``eval_every`` steps; the adapter with the lowest eval loss is kept and training
  stops after ``patience`` evaluations without improvement;
- a stop request (Ctrl-C in the CLI) is honoured between steps: the LoRA weights, optimizer, schedule, data order
  position and history are saved to ``checkpoint/`` and the same call resumes from there.
"""

from __future__ import annotations

import functools
import json
import math
import os
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from ragtune.config import LoraConfig
from ragtune.errors import InputError, ModelError, RagtuneError
from ragtune.finetune import checkpoint
from ragtune.finetune.examples import TrainingExample
from ragtune.models.local import render_prompt

if TYPE_CHECKING:  # heavy imports stay inside the functions that need them, so the CLI starts fast
    import torch
    from peft import PeftModel
    from torch.optim.lr_scheduler import LRScheduler
    from transformers import PreTrainedTokenizerBase

IGNORE = -100  # label value the loss skips (prompt and padding tokens)


class TrainingInterrupted(RagtuneError):
    """Training stopped on request; a checkpoint was saved and the same command resumes it."""

    exit_code = 130


@dataclass(frozen=True)
class Encoded:
    input_ids: list[int]
    labels: list[int]
    truncated: bool


@dataclass(frozen=True)
class Progress:
    step: int
    total_steps: int
    epoch: float
    loss: float
    eval_loss: float | None
    seconds: float

    @property
    def eta_seconds(self) -> float:
        return self.seconds / max(self.step, 1) * (self.total_steps - self.step)


@dataclass
class TrainResult:
    adapter_dir: Path
    steps: int
    total_steps: int
    seconds: float
    seconds_per_step: float
    best_eval_loss: float | None
    initial_eval_loss: float | None
    stopped_early: bool
    resumed: bool
    truncated: int
    history: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        data = asdict(self)
        data["adapter_dir"] = str(self.adapter_dir)
        return data


def encode(tokenizer, example: TrainingExample, max_length: int) -> Encoded:
    """Token ids and labels for one example: the prompt is masked out, the completion and its end token are
    learned. When too long, the prompt loses tokens from its start first (the completion is what is learned)."""
    prompt = tokenizer(render_prompt(tokenizer, example.prompt), add_special_tokens=False)["input_ids"]
    end = tokenizer.eos_token or ""
    completion = tokenizer(example.completion + end, add_special_tokens=False)["input_ids"]
    truncated = len(prompt) + len(completion) > max_length
    if truncated:
        completion = completion[:max_length - 1]
        prompt = prompt[len(prompt) - (max_length - len(completion)):]
    return Encoded(list(prompt) + list(completion), [IGNORE] * len(prompt) + list(completion), truncated)


def token_counter(model_dir: Path) -> Callable[[TrainingExample], int]:
    """An example's length in tokens exactly as training encodes it (prompt template + completion + end token);
    loads only the tokenizer."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    except Exception as exc:  # a broken or foreign folder surfaces as many exception types
        raise ModelError(f"{model_dir}: could not load a tokenizer ({type(exc).__name__}: {exc})") from exc
    return lambda example: len(encode(tokenizer, example, 1 << 30).input_ids)


def _batch(encoded: Sequence[Encoded], pad_id: int):
    import torch

    width = max(len(e.input_ids) for e in encoded)
    ids = torch.full((len(encoded), width), pad_id, dtype=torch.long)
    labels = torch.full((len(encoded), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(encoded), width), dtype=torch.long)
    for row, e in enumerate(encoded):
        ids[row, :len(e.input_ids)] = torch.tensor(e.input_ids)
        labels[row, :len(e.labels)] = torch.tensor(e.labels)
        mask[row, :len(e.input_ids)] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def _device_batch(encoded: Sequence[Encoded], pad_id: int, device: str) -> dict[str, torch.Tensor]:
    return {k: v.to(device) for k, v in _batch(encoded, pad_id).items()}


def _eval_loss(model, encoded: Sequence[Encoded], batch_size: int, pad_id: int, device) -> float:
    """Mean loss per completion token over the eval set (token-weighted, so batch shapes do not matter)."""
    import torch

    model.eval()
    total, tokens = 0.0, 0
    with torch.inference_mode():
        for start in range(0, len(encoded), batch_size):
            batch = _device_batch(encoded[start:start + batch_size], pad_id, device)
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False).logits
            shifted = batch["labels"][:, 1:]
            loss = torch.nn.functional.cross_entropy(
                logits[:, :-1].reshape(-1, logits.shape[-1]).float(), shifted.reshape(-1),
                ignore_index=IGNORE, reduction="sum")
            total += float(loss)
            tokens += int((shifted != IGNORE).sum())
    model.train()
    return total / max(tokens, 1)


GROUP_BATCHES = 16  # batches per length-sorted window: less padding, yet every batch is still a random draw


def epoch_batches(lengths: Sequence[int], batch_size: int, epoch: int, seed: int) -> list[list[int]]:
    """One epoch's batches (example indices), deterministic per (seed, epoch) so a resumed run continues the same
    order. Examples are shuffled, sorted by length inside windows of ``GROUP_BATCHES`` batches and cut into
    batches, whose order is shuffled again: batches hold similar lengths, so padding (wasted compute on a CPU)
    shrinks while the data order stays random."""
    rng = random.Random(f"{seed}:{epoch}")
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = batch_size * GROUP_BATCHES
    batches: list[list[int]] = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start:start + window], key=lambda i: lengths[i])
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def train_lora(
    train: Sequence[TrainingExample],
    eval_examples: Sequence[TrainingExample],
    *,
    model_dir: Path,
    work_dir: Path,
    config: LoraConfig,
    device: str | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> TrainResult:
    """Train a LoRA adapter; the best one (lowest eval loss) ends up in ``work_dir/adapter``.

    ``work_dir`` holds the run's state: a ``checkpoint/`` there (left by an interrupted call) is resumed from."""
    if not train:
        raise InputError("no training examples")
    if not eval_examples:
        raise InputError("no eval examples: early stopping and the kept adapter are chosen on eval loss")
    _quiet_transformers()
    import torch

    from ragtune.models.embedder import pick_device

    torch.manual_seed(config.seed)  # before the model is built: LoRA's initial weights come from this generator
    device = pick_device(device)
    model, tokenizer = _load_lora_model(model_dir, config, device)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    data = _encode_data(tokenizer, train, eval_examples, config.max_length)
    plan = _plan(data.lengths, config)
    trainable, optimizer, schedule = _make_optimizer(model, config, plan.total_steps)
    work_dir.mkdir(parents=True, exist_ok=True)
    session = _Session(model, trainable, optimizer, schedule, pad_id, device,
                       checkpoint_dir=work_dir / "checkpoint", best_dir=work_dir / "adapter")

    resumed = checkpoint.exists(session.checkpoint_dir)
    if resumed:
        state = checkpoint.restore(session.checkpoint_dir, model, optimizer, schedule)
    else:
        state = checkpoint.RunState(initial_eval_loss=_eval_loss(model, data.eval, config.batch_size, pad_id, device))
    started = time.perf_counter() - state.seconds  # a resumed run's clock continues where it stopped
    end = _train_steps(session, data, plan, config, state, started, on_progress, should_stop)

    shutil.rmtree(session.checkpoint_dir, ignore_errors=True)
    seconds = time.perf_counter() - started
    return TrainResult(
        adapter_dir=session.best_dir, steps=state.step, total_steps=plan.total_steps, seconds=seconds,
        # the first step pays one-off allocator and kernel warm-up; it is not what a step costs
        seconds_per_step=sum(end.step_seconds[1:] or end.step_seconds) / max(len(end.step_seconds) - 1, 1),
        best_eval_loss=state.best_eval_loss, initial_eval_loss=state.initial_eval_loss,
        stopped_early=end.stopped_early, resumed=resumed, truncated=sum(e.truncated for e in data.train),
        history=state.history)


# --- the steps of train_lora, in the order it takes them --------------------------------------------------------


@dataclass(frozen=True)
class _Data:
    train: list[Encoded]
    eval: list[Encoded]
    lengths: list[int]  # of the training examples in tokens, for length-grouped batches


@dataclass(frozen=True)
class _Plan:
    steps_per_epoch: int
    total_steps: int
    eval_every: int


@dataclass(frozen=True)
class _Session:
    """The live objects one call trains, and the folders it saves them to."""

    model: PeftModel
    trainable: list[torch.nn.Parameter]
    optimizer: torch.optim.Optimizer
    schedule: LRScheduler
    pad_id: int
    device: str
    checkpoint_dir: Path
    best_dir: Path


@dataclass(frozen=True)
class _LoopEnd:
    stopped_early: bool
    step_seconds: list[float]


def _quiet_transformers() -> None:
    """Offline (the model is a local folder) and silent: the CLI draws its own progress line."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def _load_lora_model(model_dir: Path, config: LoraConfig, device: str) -> tuple[PeftModel, PreTrainedTokenizerBase]:
    """The tokenizer and the float32 model with fresh LoRA layers on the configured modules it has."""
    import torch
    from peft import LoraConfig as PeftLoraConfig
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    targets = [m for m in config.target_modules if m in present]
    if not targets:
        raise InputError(f"none of the LoRA target modules {', '.join(config.target_modules)} exist in "
                         f"{model_dir}: set target_modules to this model's linear layer names")
    model = get_peft_model(model, PeftLoraConfig(
        r=config.r, lora_alpha=config.alpha, lora_dropout=config.dropout, target_modules=targets,
        task_type="CAUSAL_LM"))
    model.to(device).train()
    return model, tokenizer


def _encode_data(tokenizer: PreTrainedTokenizerBase, train: Sequence[TrainingExample],
                 eval_examples: Sequence[TrainingExample], max_length: int) -> _Data:
    train_encoded = [encode(tokenizer, e, max_length) for e in train]
    eval_encoded = [encode(tokenizer, e, max_length) for e in eval_examples]
    return _Data(train_encoded, eval_encoded, [len(e.input_ids) for e in train_encoded])


def _plan(lengths: Sequence[int], config: LoraConfig) -> _Plan:
    """How many steps the run takes and how often it measures eval loss (twice an epoch unless configured)."""
    steps_per_epoch = len(epoch_batches(lengths, config.batch_size, 0, config.seed))
    eval_every = config.eval_every or max(1, steps_per_epoch // 2)
    return _Plan(steps_per_epoch, max(1, math.ceil(steps_per_epoch * config.epochs)), eval_every)


def _make_optimizer(model: PeftModel, config: LoraConfig, total_steps: int,
                    ) -> tuple[list[torch.nn.Parameter], torch.optim.Optimizer, LRScheduler]:
    """AdamW over the LoRA weights only, with a linear warmup-then-decay learning-rate schedule."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    trainable = [p for p in model.parameters() if p.requires_grad]
    # fused AdamW: one kernel over all LoRA tensors instead of a Python loop over hundreds of small ones
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=0.0, fused=True)
    schedule = get_linear_schedule_with_warmup(optimizer, int(total_steps * config.warmup_ratio), total_steps)
    return trainable, optimizer, schedule


def _train_steps(session: _Session, data: _Data, plan: _Plan, config: LoraConfig, state: checkpoint.RunState,
                 started: float, on_progress: Callable[[Progress], None] | None,
                 should_stop: Callable[[], bool]) -> _LoopEnd:
    """Step from ``state.step`` to the end (or early stop), evaluating every ``plan.eval_every`` steps and at the
    end; a stop request saves a checkpoint and raises :class:`TrainingInterrupted`."""

    @functools.lru_cache(maxsize=1)  # one epoch's order, computed once (and again identically after a resume)
    def epoch_order(epoch: int) -> list[list[int]]:
        return epoch_batches(data.lengths, config.batch_size, epoch, config.seed)

    step_seconds: list[float] = []
    running = None
    while state.step < plan.total_steps:
        if should_stop():
            state.seconds = time.perf_counter() - started
            checkpoint.save(session.checkpoint_dir, session.model, session.optimizer, session.schedule, state)
            raise TrainingInterrupted(
                f"training stopped at step {state.step}/{plan.total_steps}; checkpoint saved in "
                f"{session.checkpoint_dir} — run the same command again to resume")
        epoch, position = divmod(state.step, plan.steps_per_epoch)
        batch = _device_batch([data.train[i] for i in epoch_order(epoch)[position]], session.pad_id, session.device)
        t0 = time.perf_counter()
        loss = _optimizer_step(session, batch)
        step_seconds.append(time.perf_counter() - t0)
        state.step += 1
        value = float(loss)
        running = value if running is None else 0.9 * running + 0.1 * value
        eval_loss = None
        if state.step % plan.eval_every == 0 or state.step == plan.total_steps:
            eval_loss = _eval_loss(session.model, data.eval, config.batch_size, session.pad_id, session.device)
            _record_eval(session, state, eval_loss, running)
        if on_progress:
            on_progress(Progress(state.step, plan.total_steps, state.step / plan.steps_per_epoch, running,
                                 eval_loss, time.perf_counter() - started))
        if config.patience and state.bad_evals >= config.patience:
            return _LoopEnd(stopped_early=True, step_seconds=step_seconds)
    return _LoopEnd(stopped_early=False, step_seconds=step_seconds)


def _optimizer_step(session: _Session, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """One forward/backward pass and update; returns the batch's loss, detached."""
    import torch

    loss = session.model(**batch, use_cache=False).loss  # no KV cache in training: it is never read
    loss.backward()
    torch.nn.utils.clip_grad_norm_(session.trainable, 1.0)
    session.optimizer.step()
    session.schedule.step()
    session.optimizer.zero_grad(set_to_none=True)
    return loss.detach()


def _record_eval(session: _Session, state: checkpoint.RunState, eval_loss: float, train_loss: float) -> None:
    """Keep the adapter when the eval loss is a new best; otherwise count one more evaluation without one."""
    best = state.best_eval_loss
    if best is None or eval_loss < best:
        state.best_eval_loss, state.bad_evals = eval_loss, 0
        checkpoint.save_adapter(session.model, session.best_dir)
    else:
        state.bad_evals += 1
    state.history.append({"step": state.step, "train_loss": round(train_loss, 5), "eval_loss": round(eval_loss, 5)})


def split_eval(examples: Sequence[TrainingExample], fraction: float, seed: int,
               max_eval: int = 200) -> tuple[list[TrainingExample], list[TrainingExample]]:
    """A deterministic held-out split. Examples sharing a prompt stay on one side, so the eval loss is not
    measured on prompts the adapter was trained on."""
    groups: dict[str, list[TrainingExample]] = {}
    for e in examples:
        groups.setdefault(json.dumps(e.prompt, sort_keys=True), []).append(e)
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    wanted = min(max_eval, max(1, round(len(examples) * fraction)))
    held: list[TrainingExample] = []
    for key in keys:
        if len(held) >= wanted:
            break
        held += groups[key]
    held_ids = {id(e) for e in held}
    return [e for e in examples if id(e) not in held_ids], held
