"""LoRA fine-tuning on the E2E text → JSON task: quality on held-out data, training time, and seconds/step
against a plain transformers ``Trainer`` + peft loop.

1. Split ``e2e_dev.jsonl`` by meaning representation (``mr``): whole MRs go to the test side, so no test
   restaurant/attribute combination was seen in training (seeded).
2. ``tuning.finetune`` on the train side (its own held-out split for early stopping), the default model, default
   ``LoraConfig`` (r=16, 2 epochs, batch 8, 256 tokens), no automatic eval; training wall time is recorded.
3. A plain transformers ``Trainer`` + peft script trains to the end on the same examples our loop trained
   on, with the same LoRA settings, epochs, batch size, learning rate and warm-up (``--skip-plain``: not).
4. On the test side, the harness scores base closed-book, base few-shot (3 shots from the train side — the
   honest baseline), our adapter and the plain script's: JSON validity, field accuracy, exact match, each
   with a 95% bootstrap CI, and the paired (adapter − few-shot) and (adapter − plain script) differences.
5. Seconds per optimizer step, ours vs ``transformers.Trainer`` + peft on the same model, examples, batch
   size, max length and LoRA settings (both pad each batch to its longest example; only step time counts).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
import time
from pathlib import Path

from _common import DATA_DIR, log, machine_info, machine_line, markdown_table, read_jsonl, write_result


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA_DIR / "e2e_dev.jsonl")
    parser.add_argument("--test-share", type=float, default=0.2, help="share of MRs held out for the test side")
    parser.add_argument("--max-train", type=int, default=600)
    parser.add_argument("--test-limit", type=int, default=120, help="test items scored per condition")
    parser.add_argument("--baseline-steps", type=int, default=15, help="steps timed for each loop")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--home", type=Path, default=None, help="ragtune home to use (default: a temp dir)")
    parser.add_argument("--skip-quality", action="store_true", help="only the seconds/step comparison")
    parser.add_argument("--skip-plain", action="store_true",
                        help="do not train the plain Trainer + peft script to the end and score its adapter")
    parser.add_argument("--name", default="finetune")
    return parser.parse_args()


def split_by_mr(rows: list[dict], test_share: float, seed: int) -> tuple[list[dict], list[dict]]:
    mrs = sorted({r["mr"] for r in rows})
    random.Random(seed).shuffle(mrs)
    test_mrs = set(mrs[:round(len(mrs) * test_share)])
    return [r for r in rows if r["mr"] not in test_mrs], [r for r in rows if r["mr"] in test_mrs]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps({"id": r["id"], "input": r["input"], "output": r["output"]}) + "\n"
                            for r in rows))
    return path


def _plain_trainer(train_examples, config, model_dir: Path, out: Path, *, max_steps: int = -1, callbacks=()):
    """The usual transformers ``Trainer`` + peft recipe on the same encoded examples and LoRA settings as
    ours: ``max_steps`` steps, or (-1) ``config.epochs`` epochs over the examples."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        DataCollatorForSeq2Seq,
        Trainer,
        TrainingArguments,
    )

    from ragtune.finetune.train import encode

    torch.manual_seed(config.seed)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    model = get_peft_model(model, LoraConfig(r=config.r, lora_alpha=config.alpha, lora_dropout=config.dropout,
                                             target_modules=list(config.target_modules), task_type="CAUSAL_LM"))
    rows = [encode(tokenizer, e, config.max_length) for e in train_examples]
    dataset = [{"input_ids": r.input_ids, "attention_mask": [1] * len(r.input_ids), "labels": r.labels}
               for r in rows]
    per_epoch = math.ceil(len(dataset) / config.batch_size)
    total = max_steps if max_steps > 0 else per_epoch * math.ceil(config.epochs)
    args = TrainingArguments(
        output_dir=str(out), per_device_train_batch_size=config.batch_size, max_steps=max_steps,
        num_train_epochs=config.epochs, learning_rate=config.learning_rate,
        warmup_steps=int(total * config.warmup_ratio), lr_scheduler_type="linear", logging_steps=1000,
        save_strategy="no", report_to=[], seed=config.seed, use_cpu=True, dataloader_num_workers=0,
        disable_tqdm=True, max_grad_norm=1.0, weight_decay=0.0)
    collator = DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100)
    return Trainer(model=model, args=args, train_dataset=dataset, data_collator=collator,
                   callbacks=list(callbacks))


def trainer_seconds_per_step(train_examples, config, model_dir: Path, steps: int, out: Path) -> float:
    from transformers import TrainerCallback

    durations: list[float] = []

    class StepTimer(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            self.t0 = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            durations.append(time.perf_counter() - self.t0)

    _plain_trainer(train_examples, config, model_dir, out, max_steps=steps, callbacks=[StepTimer()]).train()
    return sum(durations[1:]) / max(len(durations) - 1, 1)  # the first step warms up allocators


def trainer_adapter(train_examples, config, model_dir: Path, out: Path) -> dict:
    """Train the plain recipe to the end (all epochs, no early stopping, the last weights kept, as such a
    script does) and save its adapter in ``out/adapter`` for the harness to score."""
    trainer = _plain_trainer(train_examples, config, model_dir, out)
    started = time.perf_counter()
    output = trainer.train()
    seconds = time.perf_counter() - started
    trainer.model.save_pretrained(str(out / "adapter"))
    return {"adapter_dir": str(out / "adapter"), "steps": output.global_step, "seconds": seconds,
            "train_loss": output.training_loss, "examples": len(train_examples)}


def ours_seconds_per_step(train_examples, config, model_dir: Path, steps: int, work: Path) -> float:
    from dataclasses import replace

    from ragtune.finetune.train import train_lora

    batches = steps * config.batch_size
    subset = list(train_examples)[:batches]
    cfg = replace(config, epochs=1.0, eval_every=10 ** 6, patience=0)
    result = train_lora(subset, subset[:config.batch_size], model_dir=model_dir, work_dir=work, config=cfg)
    return result.seconds_per_step


def paired_field_accuracy(quality: dict, a: str, b: str) -> dict:
    """Mean (a − b) field accuracy over the same items with its paired 95% bootstrap CI."""
    from ragtune.evaluate.bootstrap import paired_bootstrap_diff

    ids = sorted(quality[a]["scores"])
    mean, lo, hi = paired_bootstrap_diff([quality[a]["scores"][i] for i in ids],
                                         [quality[b]["scores"][i] for i in ids])
    return {"mean": mean, "ci95": [lo, hi], "n": len(ids)}


def main() -> int:
    args = parse_args()
    from ragtune import Workspace
    from ragtune.config import LoraConfig
    from ragtune.finetune.examples import read_training_examples
    from ragtune.models.cache import converted_model_dir

    machine = machine_info()
    rows = read_jsonl(args.data)
    train_rows, test_rows = split_by_mr(rows, args.test_share, args.seed)
    train_rows = train_rows[:args.max_train]
    tmp = Path(tempfile.mkdtemp(prefix="ragtune-bench-ft-"))
    train_file = write_jsonl(tmp / "train.jsonl", train_rows)
    test_file = write_jsonl(tmp / "test.jsonl", test_rows)
    log(f"train {len(train_rows)} rows, test {len(test_rows)} rows ({len({r['mr'] for r in test_rows})} held-out MRs)")
    config = LoraConfig()
    results: dict = {"train_rows": len(train_rows), "test_rows": len(test_rows), "config": config.__dict__}

    model_dir = converted_model_dir()
    train_examples = read_training_examples(train_file)
    # the same examples for both loops (the first steps × batch of the train side), each loop run twice in
    # alternating order so a warm-up or a noisy neighbour does not favour one of them; the faster run counts
    subset = train_examples[:args.baseline_steps * config.batch_size]
    ours_runs, theirs_runs = [], []
    for attempt in range(2):
        log(f"timing seconds/step (round {attempt + 1}): transformers Trainer + peft")
        theirs_runs.append(trainer_seconds_per_step(subset, config, model_dir, args.baseline_steps,
                                                    tmp / f"trainer{attempt}"))
        log(f"timing seconds/step (round {attempt + 1}): ragtune loop")
        ours_runs.append(ours_seconds_per_step(subset, config, model_dir, args.baseline_steps, tmp / f"ours{attempt}"))
    ours, theirs = min(ours_runs), min(theirs_runs)
    results["seconds_per_step"] = {"ragtune": ours, "trainer_peft": theirs, "ratio": ours / theirs,
                                   "runs": {"ragtune": ours_runs, "trainer_peft": theirs_runs}}

    if not args.skip_quality:
        index = Workspace(args.home or tmp / "home")
        log("training")
        started = time.perf_counter()
        outcome = index.tuning.finetune(train_file, name="e2e-bench", evaluate=False,
                                 on_progress=lambda p: log(f"  step {p.step}/{p.total_steps} loss {p.loss:.3f}"
                                                           + (f" eval {p.eval_loss:.3f}" if p.eval_loss else "")))
        results["training"] = {**outcome.training.to_json(), "wall_seconds": time.perf_counter() - started,
                               "adapter": outcome.adapter.id}
        results["checks"] = outcome.checks.to_json()
        adapters = {"adapter": outcome.adapter.id}
        if not args.skip_plain:
            # the plain script trains on exactly the examples our loop trained on (the file minus the share
            # our trainer holds out for early stopping: the same split, same seed)
            from ragtune.finetune.pipeline import prepare_data

            data = prepare_data(train_file, None, config, model_dir, force=True)
            log(f"training the plain Trainer + peft script to the end on the same {len(data.train)} examples")
            results["plain_training"] = trainer_adapter(data.train, config, model_dir, tmp / "plain")
            adapters["plain_adapter"] = results["plain_training"]["adapter_dir"]
        quality = {}
        for condition in ("few_shot", *adapters, "closed_book"):
            log(f"scoring {condition} on the test side")
            run = index.evaluation.evaluate(
                test_file, condition="adapter" if condition in adapters else condition, train=train_file,
                limit=args.test_limit, adapter=adapters.get(condition))
            quality[condition] = {
                "run_id": run.run_id, "metrics": {k: v.to_json() for k, v in run.metrics.items()},
                "scores": {r.item_id: (r.metrics.get("field_accuracy") or 0.0) for r in run.items}}
        results["quality"] = {c: {k: v for k, v in q.items() if k != "scores"} for c, q in quality.items()}
        results["adapter_minus_few_shot_field_accuracy"] = paired_field_accuracy(quality, "adapter",
                                                                                 "few_shot")
        if "plain_adapter" in quality:
            results["adapter_minus_plain_field_accuracy"] = paired_field_accuracy(quality, "adapter",
                                                                                  "plain_adapter")

    path = write_result(args.name, args, results, machine)
    print(f"Machine: {machine_line(machine)}\n")
    s = results["seconds_per_step"]
    print(markdown_table(["loop", "s/step"], [["ragtune", s["ragtune"]], ["Trainer + peft", s["trainer_peft"]],
                                              ["ratio", s["ratio"]]]))
    if "quality" in results:
        print()
        table = []
        for condition, q in results["quality"].items():
            m = q["metrics"]

            def cell(name: str) -> str:
                if name not in m:
                    return "-"
                return f"{m[name]['value']:.3f} [{m[name]['ci95'][0]:.3f}, {m[name]['ci95'][1]:.3f}]"

            table.append([condition, m.get("exact_match", {}).get("n", "-"), cell("json_valid"),
                          cell("field_accuracy"), cell("exact_match")])
        print(markdown_table(["condition", "n", "json_valid", "field_accuracy", "exact_match"], table))
        t = results["training"]
        d = results["adapter_minus_few_shot_field_accuracy"]
        print(f"\ntraining: {t['steps']} steps in {t['wall_seconds']:.0f} s wall ({t['seconds']:.0f} s loop), "
              f"{len(train_rows)} examples; adapter − few-shot field accuracy {d['mean']:+.3f} "
              f"[{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]")
        if "adapter_minus_plain_field_accuracy" in results:
            d, plain = results["adapter_minus_plain_field_accuracy"], results["plain_training"]
            print(f"plain script: {plain['steps']} steps in {plain['seconds']:.0f} s; adapter − plain script "
                  f"field accuracy {d['mean']:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]")
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
