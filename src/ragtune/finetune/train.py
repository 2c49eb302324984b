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

import json
import math
import os
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from ragtune.config import LoraConfig
from ragtune.errors import InputError, ModelError, RagtuneError
from ragtune.finetune.examples import TrainingExample
from ragtune.models.local import render_prompt

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


def _eval_loss(model, encoded: Sequence[Encoded], batch_size: int, pad_id: int, device) -> float:
    """Mean loss per completion token over the eval set (token-weighted, so batch shapes do not matter)."""
    import torch

    model.eval()
    total, tokens = 0.0, 0
    with torch.inference_mode():
        for start in range(0, len(encoded), batch_size):
            batch = {k: v.to(device) for k, v in _batch(encoded[start:start + batch_size], pad_id).items()}
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


def _replace_dir(target: Path, write: Callable[[Path], None]) -> None:
    """Write a folder next to ``target`` and swap it in, so a crash mid-write never leaves a half-written one."""
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    write(tmp)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)


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
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from peft import LoraConfig as PeftLoraConfig
    from peft import get_peft_model, get_peft_model_state_dict, set_peft_model_state_dict
    from transformers import AutoModelForCausalLM, AutoTokenizer, get_linear_schedule_with_warmup
    from transformers.utils import logging as hf_logging

    from ragtune.models.embedder import pick_device

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()

    torch.manual_seed(config.seed)
    device = pick_device(device)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
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

    train_encoded = [encode(tokenizer, e, config.max_length) for e in train]
    eval_encoded = [encode(tokenizer, e, config.max_length) for e in eval_examples]
    lengths = [len(e.input_ids) for e in train_encoded]
    steps_per_epoch = len(epoch_batches(lengths, config.batch_size, 0, config.seed))
    total_steps = max(1, math.ceil(steps_per_epoch * config.epochs))
    eval_every = config.eval_every or max(1, steps_per_epoch // 2)

    trainable = [p for p in model.parameters() if p.requires_grad]
    # fused AdamW: one kernel over all LoRA tensors instead of a Python loop over hundreds of small ones
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=0.0, fused=True)
    schedule = get_linear_schedule_with_warmup(optimizer, int(total_steps * config.warmup_ratio), total_steps)

    work_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = work_dir / "checkpoint"
    best_dir = work_dir / "adapter"
    state = {"step": 0, "best_eval_loss": None, "initial_eval_loss": None, "bad_evals": 0, "history": [],
             "seconds": 0.0}
    resumed = (checkpoint / "state.json").exists()
    if resumed:
        state = json.loads((checkpoint / "state.json").read_text())
        set_peft_model_state_dict(model, torch.load(checkpoint / "lora.pt", weights_only=True))
        optimizer.load_state_dict(torch.load(checkpoint / "optimizer.pt", weights_only=True))
        schedule.load_state_dict(torch.load(checkpoint / "schedule.pt", weights_only=True))
        torch.set_rng_state(torch.load(checkpoint / "rng.pt", weights_only=True))
    else:
        state["initial_eval_loss"] = _eval_loss(model, eval_encoded, config.batch_size, pad_id, device)

    def save_best() -> None:
        _replace_dir(best_dir, lambda tmp: model.save_pretrained(str(tmp)))

    def save_checkpoint() -> None:
        def write(tmp: Path) -> None:
            tmp.mkdir()
            torch.save(get_peft_model_state_dict(model), tmp / "lora.pt")
            torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
            torch.save(schedule.state_dict(), tmp / "schedule.pt")
            torch.save(torch.get_rng_state(), tmp / "rng.pt")
            (tmp / "state.json").write_text(json.dumps(state))

        _replace_dir(checkpoint, write)

    started = time.perf_counter() - state["seconds"]
    step_seconds: list[float] = []
    stopped_early = False
    running = None
    order: dict[int, list[list[int]]] = {}
    while state["step"] < total_steps:
        if should_stop():
            state["seconds"] = time.perf_counter() - started
            save_checkpoint()
            raise TrainingInterrupted(
                f"training stopped at step {state['step']}/{total_steps}; checkpoint saved in {checkpoint} — "
                "run the same command again to resume")
        step = state["step"]
        epoch, position = divmod(step, steps_per_epoch)
        if epoch not in order:  # one epoch's order, computed once (and again identically after a resume)
            order.clear()
            order[epoch] = epoch_batches(lengths, config.batch_size, epoch, config.seed)
        batch_ids = order[epoch][position]
        batch = {k: v.to(device) for k, v in _batch([train_encoded[i] for i in batch_ids], pad_id).items()}
        t0 = time.perf_counter()
        loss = model(**batch, use_cache=False).loss  # no KV cache in training: it is never read
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        step_seconds.append(time.perf_counter() - t0)
        state["step"] = step + 1
        value = float(loss.detach())
        running = value if running is None else 0.9 * running + 0.1 * value
        eval_loss = None
        if state["step"] % eval_every == 0 or state["step"] == total_steps:
            eval_loss = _eval_loss(model, eval_encoded, config.batch_size, pad_id, device)
            best = state["best_eval_loss"]
            if best is None or eval_loss < best:
                state["best_eval_loss"], state["bad_evals"] = eval_loss, 0
                save_best()
            else:
                state["bad_evals"] += 1
            state["history"].append({"step": state["step"], "train_loss": round(running, 5),
                                     "eval_loss": round(eval_loss, 5)})
        if on_progress:
            on_progress(Progress(state["step"], total_steps, state["step"] / steps_per_epoch, running, eval_loss,
                                 time.perf_counter() - started))
        if config.patience and state["bad_evals"] >= config.patience:
            stopped_early = True
            break
    shutil.rmtree(checkpoint, ignore_errors=True)
    seconds = time.perf_counter() - started
    return TrainResult(
        adapter_dir=best_dir, steps=state["step"], total_steps=total_steps, seconds=seconds,
        # the first step pays one-off allocator and kernel warm-up; it is not what a step costs
        seconds_per_step=sum(step_seconds[1:] or step_seconds) / max(len(step_seconds) - 1, 1),
        best_eval_loss=state["best_eval_loss"], initial_eval_loss=state["initial_eval_loss"],
        stopped_early=stopped_early, resumed=resumed, truncated=sum(e.truncated for e in train_encoded),
        history=state["history"])


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
