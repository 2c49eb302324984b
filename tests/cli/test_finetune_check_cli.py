"""`ragtune finetune check` through the real CLI: exit codes, JSON on stdout, one-line errors on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.cli.test_cli import assert_user_error, ragtune
from tests.finetune.test_checks import order_rows, write_jsonl

FINDING_KEYS = {"code", "severity", "message", "why", "count", "examples"}


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "clean.jsonl", order_rows(250))


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    rows = order_rows(40)
    rows += [dict(r, id=f"dup{i}") for i, r in enumerate(rows[:10])]
    rows.append({"id": "empty", "input": "Nothing to extract.", "output": ""})
    return write_jsonl(tmp_path / "bad.jsonl", rows)


def test_a_clean_file_passes_with_exit_0(home, clean):
    result = ragtune(home, "finetune", "check", str(clean), "--tokenizer", "none", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["counts"]["error"] == 0
    assert isinstance(report["findings"], list)
    assert report["stats"]["examples"] == 250 and report["stats"]["task"] == "json"
    assert report["stats"]["tokens_estimated"] is True


def test_a_bad_file_prints_the_report_then_exits_2_with_one_line(home, bad):
    result = ragtune(home, "finetune", "check", str(bad), "--tokenizer", "none", "--json")
    assert result.returncode == 2, result.stderr
    report = json.loads(result.stdout)  # the full report comes first, on stdout
    assert report["ok"] is False
    assert all(set(f) == FINDING_KEYS for f in report["findings"])
    errors = {f["code"]: f for f in report["findings"] if f["severity"] == "error"}
    assert set(errors) == {"too_few_examples", "exact_duplicates", "empty_completion"}
    assert errors["empty_completion"]["count"] == 1 and errors["empty_completion"]["examples"] == ["empty"]
    assert all(f["why"] for f in report["findings"])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("ragtune: error: ")
    assert "bad.jsonl: 3 data check error(s)" in lines[0] and "--force" in lines[0]


def test_the_human_report_shows_findings_why_and_stats(home, bad):
    result = ragtune(home, "finetune", "check", str(bad), "--tokenizer", "none")
    assert result.returncode == 2
    for text in ("exact_duplicates", "empty_completion", "why:", "Stats", "tokens (estimated)"):
        assert text in result.stdout


def test_leakage_into_the_eval_file_is_an_error(home, tmp_path):
    rows = order_rows(260)
    train = write_jsonl(tmp_path / "train.jsonl", rows[:250])
    held_out = write_jsonl(tmp_path / "eval.jsonl", rows[250:] + [dict(rows[0], id="seen")])
    result = ragtune(home, "finetune", "check", str(train), "--eval", str(held_out), "--tokenizer", "none", "--json")
    assert result.returncode == 2
    [leak] = [f for f in json.loads(result.stdout)["findings"] if f["code"] == "train_eval_leakage"]
    assert leak["count"] == 1 and leak["examples"] == ["seen = o0000"]


@pytest.mark.parametrize("args,fragment", [
    (["--tokenizer", "none", "--task", "xml"], "task 'xml': expected one of json, short_answer, text"),
    (["--tokenizer", "/no/such/folder"], "--tokenizer '/no/such/folder': not a folder"),
    (["--tokenizer", "none", "--max-length", "0"], "max_length=0: must be at least 1"),
])
def test_bad_options_are_one_line_user_errors(home, clean, args, fragment):
    assert_user_error(ragtune(home, "finetune", "check", str(clean), *args, "--json"), fragment)


def test_a_malformed_training_file_names_the_line(home, tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"input": "a", "output": "b"}\n{"input": "a"}\n')
    assert_user_error(ragtune(home, "finetune", "check", str(path), "--json"), "t.jsonl:2: field 'output'")


def test_finetune_without_a_subcommand_shows_help(home):
    result = ragtune(home, "finetune")
    assert result.returncode == 0 and "check" in result.stdout


@pytest.mark.slow
def test_the_default_tokenizer_counts_real_tokens(home, tmp_path):
    path = write_jsonl(tmp_path / "small.jsonl", order_rows(60))
    result = ragtune(home, "finetune", "check", str(path), "--json", "--max-length", "40")
    assert result.returncode == 2, result.stderr  # every example is longer than 40 tokens with the chat template
    report = json.loads(result.stdout)
    assert report["stats"]["tokens_estimated"] is False
    truncation = [f for f in report["findings"] if f["code"] == "truncation"][0]
    assert truncation["count"] == 60 and "estimated" not in truncation["message"]
    # the chat template adds its own tokens: more than the ~4-characters-per-token estimate of the bare text
    assert report["stats"]["tokens"]["min"] > report["stats"]["prompt_chars"]["min"] / 4
