"""``ragtune finetune …``: fine-tuning and its data checks."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Optional

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ragtune.cli import options
from ragtune.cli.render import console, err_console, json_printed, print_json, progress_bar
from ragtune.config import LoraConfig
from ragtune.errors import InputError

app = typer.Typer(
    help="Fine-tune the model with LoRA on your own examples; `ragtune finetune check` checks the data first.",
    invoke_without_command=True,
    no_args_is_help=False,
)

TOKENIZER_CHOICES = "default | PATH (a transformers folder) | none"
SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


@app.callback()
def finetune(
    ctx: typer.Context,
    train: Optional[Path] = typer.Option(None, "--train", help="training .jsonl: {input, output} or chat {messages}"),
    eval_path: Optional[Path] = typer.Option(None, "--eval",
                                             help="held-out .jsonl (default: a held-out share of --train)"),
    name: Optional[str] = typer.Option(None, "--name", help="adapter name; versions count up (default: file name)"),
    base: Optional[str] = typer.Option(None, "--base", help="base model: 'default' or a local transformers folder"),
    corpus: Optional[Path] = typer.Option(None, "--corpus",
                                          help="documents: adds adapter+retrieval to the evaluation and records "
                                               "the corpus snapshot for `adapters status`"),
    epochs: float = typer.Option(LoraConfig.epochs, "--epochs"),
    batch_size: int = typer.Option(LoraConfig.batch_size, "--batch-size"),
    learning_rate: float = typer.Option(LoraConfig.learning_rate, "--lr"),
    rank: int = typer.Option(LoraConfig.r, "--rank", help="LoRA rank r (alpha = 2r)"),
    max_length: int = typer.Option(LoraConfig.max_length, "--max-length", help="tokens per example"),
    seed: int = typer.Option(LoraConfig.seed, "--seed"),
    force: bool = typer.Option(False, "--force", help="train even when the data checks report errors"),
    no_eval: bool = typer.Option(False, "--no-eval", help="skip the before/after evaluation"),
    eval_limit: int = typer.Option(100, "--eval-limit", help="held-out items in the before/after evaluation"),
    as_json: bool = options.JSON,
) -> None:
    """Fine-tune the model with LoRA: data checks, training (Ctrl-C saves a checkpoint; the same command
    resumes), registration as a new adapter version, and a before/after evaluation against base few-shot."""
    if ctx.invoked_subcommand is not None:
        return
    if train is None:
        typer.echo(ctx.get_help())
        raise typer.Exit()
    from dataclasses import replace

    from ragtune.cli.state import state

    config = replace(LoraConfig(), epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, r=rank,
                     alpha=2 * rank, max_length=max_length, seed=seed)
    tuning = state.workspace().tuning
    with progress_bar(not as_json) as bar, stop_on_interrupt() as stop_requested:
        last_eval: list[float] = []

        def progress(p) -> None:
            if p.eval_loss is not None:
                last_eval.append(p.eval_loss)
            loss = f"loss {p.loss:.3f}" + (f", eval loss {last_eval[-1]:.3f}" if last_eval else "")
            bar("Training", p.step, p.total_steps, loss)

        result = tuning.finetune(
            train, eval_path=eval_path, name=name, base=base, config=config, corpus=corpus, force=force,
            evaluate=not no_eval, eval_limit=eval_limit,
            on_checks=None if as_json else _print_warnings, on_progress=progress,
            on_eval_item=lambda condition, done, total: bar(f"Evaluating {condition}", done, total),
            should_stop=stop_requested)
    if json_printed(as_json, result):
        return
    t = result.training
    console.print(Text(f"trained {result.adapter.id}: {t.steps}/{t.total_steps} steps in {t.seconds:.0f} s "
                       f"({t.seconds_per_step:.2f} s/step), eval loss {t.initial_eval_loss:.3f} → "
                       f"{t.best_eval_loss:.3f}" + (" (stopped early)" if t.stopped_early else "")))
    if result.evaluation:
        _print_evaluation(result.evaluation)
    from ragtune.finetune.registry import promotion_check

    reason = promotion_check(result.adapter)
    console.print(Text(f"promote with: ragtune adapters promote {result.adapter.id}", style="cyan") if reason is None
                  else Text(f"not ready to promote: {reason}", style="yellow"))


@contextmanager
def stop_on_interrupt() -> Iterator[Callable[[], bool]]:
    """The first Ctrl-C asks training to stop after the current step (it then saves a checkpoint); a second one
    interrupts at once."""
    requested = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield requested.is_set
        return

    def handler(signum, frame) -> None:
        if requested.is_set():
            raise KeyboardInterrupt
        requested.set()
        err_console.print("stopping after this step to save a checkpoint (Ctrl-C again to abort)")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield requested.is_set
    finally:
        signal.signal(signal.SIGINT, previous)


def _print_warnings(report) -> None:
    """Warnings before training starts; errors are left to the one-line message that stops it."""
    if not report.ok:
        return
    for f in report.findings:
        if f.severity == "warning":
            err_console.print(Text(f"{f.severity}: {f.code}: {f.message}", style=SEVERITY_STYLE[f.severity]))


def _print_evaluation(evaluation: dict) -> None:
    table = Table(title=f"Before/after on {evaluation['n']} held-out examples (95% CI)")
    names = ("json_valid", "field_accuracy", "exact_match")
    table.add_column("condition")
    for n in names:
        table.add_column(n, justify="right")
    for condition, data in evaluation["conditions"].items():
        metrics = data["metrics"]
        table.add_row(condition, *(f"{metrics[n]['value']:.3f} [{metrics[n]['ci95'][0]:.2f}, "
                                   f"{metrics[n]['ci95'][1]:.2f}]" if n in metrics else "-" for n in names))
    console.print(table)
    diff = evaluation.get("adapter_vs_few_shot")
    if diff:
        console.print(f"adapter − base few-shot: {diff['mean']:+.3f} [{diff['ci95'][0]:+.3f}, {diff['ci95'][1]:+.3f}]")


@app.command("check")
def check(
    train: Path = typer.Argument(..., help="training .jsonl: {input, output}, chat {messages}, or QA items"),
    eval_path: Optional[Path] = typer.Option(None, "--eval", help="eval .jsonl to check for train/eval leakage"),
    max_length: int = typer.Option(512, "--max-length", help="training sequence length in tokens"),
    task: Optional[str] = typer.Option(None, "--task", help="json | short_answer | text (default: detected)"),
    tokenizer: str = typer.Option("default", "--tokenizer", help=f"how to count tokens: {TOKENIZER_CHOICES}"),
    as_json: bool = options.JSON,
) -> None:
    """Data-sufficiency checks before fine-tuning; exits 2 when there are errors (warnings only inform)."""
    from ragtune.finetune.checks import run_checks
    from ragtune.finetune.examples import read_training_examples

    examples = read_training_examples(train)
    held_out = read_training_examples(eval_path) if eval_path is not None else None
    with progress_bar(not as_json) as bar:
        count_tokens = _token_counter(tokenizer, len(examples), bar)
        report = run_checks(examples, held_out, count_tokens=count_tokens, max_length=max_length, task=task)
    if not json_printed(as_json, report):
        _print_report(report)
    if not report.ok:
        codes = ", ".join(f.code for f in report.errors)
        raise InputError(f"{train}: {len(report.errors)} data check error(s) ({codes}); fix the data, or pass "
                         "--force when training to override")


@app.command("make-raft")
def make_raft(
    qa: Path = typer.Option(..., "--qa", help="QA .jsonl with answers and gold_doc_ids"),
    corpus: Path = typer.Option(..., "--corpus", help="the documents (.jsonl or a folder) the gold ids refer to"),
    out: Path = typer.Option(Path("raft.jsonl"), "--out", help="where to write the chat training rows"),
    distractors: int = typer.Option(3, "--distractors", help="retrieved chunks from other documents per prompt"),
    oracle_share: float = typer.Option(0.8, "--oracle-share",
                                       help="share of examples whose prompt holds the gold chunk"),
    seed: int = typer.Option(0, "--seed"),
    as_json: bool = options.JSON,
) -> None:
    """Build RAFT examples: the gold chunk among retrieved distractors (cited in the answer), or distractors only
    ("Not in the documents.") — training data that teaches a model to use retrieved context."""
    from ragtune.cli.state import state

    stats = state.workspace().tuning.make_raft(qa, corpus, out, distractors=distractors, oracle_share=oracle_share, seed=seed)
    if as_json:
        print_json({"out": str(out), **stats.to_json()})
        return
    console.print(Text(f"wrote {stats.written} examples to {out}: {stats.with_oracle} with the gold chunk, "
                       f"{stats.without_oracle} with distractors only, {stats.unanswerable} unanswerable"
                       + (f"; skipped {dict(stats.skipped)}" if stats.skipped else "")))


def _token_counter(choice: str, total: int, bar: Callable) -> Optional[Callable]:
    if choice == "none":
        return None
    if choice == "default":
        from ragtune.models.cache import converted_model_dir

        folder = converted_model_dir()
    else:
        folder = Path(choice)
        if not folder.is_dir():
            raise InputError(f"--tokenizer {choice!r}: not a folder; expected {TOKENIZER_CHOICES}")
    from ragtune.finetune.train import token_counter

    count = token_counter(folder)
    done = 0

    def counted(example) -> int:
        nonlocal done
        done += 1
        bar("Counting tokens", done, total)
        return count(example)

    return counted


def _print_report(report) -> None:
    stats = report.stats
    if report.findings:
        table = Table(title=escape(f"Data checks: {stats['examples']} examples, task {stats['task']}"))
        for name in ("severity", "check", "count", "message"):
            table.add_column(name, justify="right" if name == "count" else "left")
        for f in report.findings:
            message = Text(f.message)
            if f.examples:
                message.append(f"\ne.g. {'; '.join(f.examples)}", style="dim")
            message.append(f"\nwhy: {f.why}", style="italic dim")
            table.add_row(Text(f.severity, style=SEVERITY_STYLE[f.severity]), Text(f.code), str(f.count),
                          message)
        console.print(table)
    unit = "tokens (estimated)" if stats["tokens_estimated"] else "tokens"
    facts = Table(title="Stats", show_header=False)
    facts.add_column("stat")
    facts.add_column("value")
    facts.add_row("examples", f"{stats['examples']} ({stats['unique_examples']} unique, "
                              f"{stats['distinct_completions']} distinct completions)")
    if "eval_examples" in stats:
        facts.add_row("eval examples", str(stats["eval_examples"]))
    facts.add_row("task", Text(stats["task"] + ("" if stats["task"] == stats["task_detected"]
                                                else f" (detected: {stats['task_detected']})")))
    for name, label in (("prompt_chars", "prompt chars"), ("completion_chars", "completion chars"),
                        ("tokens", unit)):
        d = stats[name]
        facts.add_row(label, f"min {d['min']} · median {d['median']:g} · p95 {d['p95']} · max {d['max']}"
                             + (f" (max_length {stats['max_length']})" if name == "tokens" else ""))
    if stats.get("json_keys"):
        # the keys are the user's data: a Text cell, not markup
        keys = ", ".join(f"{k['key']} {_percent(k['share'])}" for k in stats["json_keys"])
        facts.add_row("JSON keys", Text(keys))
    console.print(facts)
    errors, warnings = len(report.errors), len(report.warnings)
    if report.ok:
        console.print(f"OK: no errors, {warnings} warning(s).", style="green" if not warnings else "yellow")
    else:
        console.print(f"{errors} error(s), {warnings} warning(s).", style="bold red")


def _percent(share: float) -> str:
    return f"{share:.0%}" if share >= 0.01 or share == 0 else f"{share:.1%}"
