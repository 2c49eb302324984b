"""Data checks on crafted datasets: each problem is found, counted, explained, and graded error or warning."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from ragtune.errors import InputError
from ragtune.finetune import checks
from ragtune.finetune.checks import CheckReport, Finding, ensure_trainable, run_checks
from ragtune.finetune.examples import read_training_examples
from ragtune.finetune.similarity import similar_pairs

FIRST = ["Ada", "Bruno", "Chiara", "Dmitri", "Esme", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kemal", "Lena",
         "Mateo", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tamsin", "Umar", "Vera", "Wen", "Ximena",
         "Yusuf"]
LAST = ["Abbott", "Barros", "Castell", "Dunmore", "Eriksen", "Fontaine", "Guerra", "Halloran", "Ibsen", "Jovanovic",
        "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov", "Quigley", "Rinaldi", "Sato", "Teller"]
PRODUCTS = ["oak desks", "steel lockers", "paper towels", "office chairs", "whiteboard markers", "desk lamps",
            "printer toner", "coffee beans", "filing cabinets", "monitor stands", "ethernet cables", "notebooks",
            "stacking crates", "hand soap", "wall clocks", "bike racks", "first aid kits", "label printers",
            "extension leads", "safety goggles"]
CITIES = ["Aarhus", "Bilbao", "Cork", "Dresden", "Eindhoven", "Florence", "Ghent", "Hamburg", "Innsbruck", "Krakow",
          "Lyon", "Malmo", "Nantes", "Oslo", "Porto", "Riga", "Salzburg", "Turku", "Utrecht", "Vilnius"]
TEMPLATES = [
    "{person} ordered {qty} {product} for delivery to {city}.",
    "Please send {qty} {product} to {city}; the buyer is {person}.",
    "Order from {person} in {city}: {qty} x {product}.",
    "A customer in {city}, {person}, wants {qty} units of {product}.",
    "Ship {product} (quantity {qty}) to {person} at the {city} branch.",
    "New request: {person} needs {qty} {product} at our {city} office by Friday.",
]


def order_rows(n: int, seed: int = 7) -> list[dict]:
    """``n`` varied, distinct extraction examples: a sentence about an order → its fields as a JSON object."""
    rng = random.Random(seed)
    rows, seen = [], set()
    while len(rows) < n:
        person, product, city = f"{rng.choice(FIRST)} {rng.choice(LAST)}", rng.choice(PRODUCTS), rng.choice(CITIES)
        if (person, product, city) in seen:
            continue
        seen.add((person, product, city))
        qty = rng.randint(1, 400)
        text = rng.choice(TEMPLATES).format(person=person, qty=qty, product=product, city=city)
        output = json.dumps({"city": city, "customer": person, "product": product, "quantity": qty}, sort_keys=True)
        rows.append({"id": f"o{len(rows):04d}", "input": text, "output": output})
    return rows


def without_ids(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "id"} for r in rows]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def check_rows(tmp_path: Path, rows: list[dict], eval_rows: list[dict] | None = None, **options) -> CheckReport:
    train = read_training_examples(write_jsonl(tmp_path / "train.jsonl", rows))
    held_out = read_training_examples(write_jsonl(tmp_path / "eval.jsonl", eval_rows)) if eval_rows else None
    return run_checks(train, held_out, **options)


def finding(report: CheckReport, code: str) -> Finding:
    matches = [f for f in report.findings if f.code == code]
    assert matches, f"no {code!r} finding in {[f.code for f in report.findings]}"
    return matches[0]


def codes(report: CheckReport) -> set[str]:
    return {f.code for f in report.findings}


def test_a_clean_varied_json_dataset_has_no_errors_or_warnings(tmp_path):
    report = check_rows(tmp_path, order_rows(250))
    assert report.ok and report.errors == [] and report.warnings == [], report.findings
    assert report.stats["task"] == "json" and report.stats["examples"] == 250
    assert report.stats["tokens_estimated"] is True
    assert {k["key"] for k in report.stats["json_keys"]} == {"city", "customer", "product", "quantity"}
    assert all(k["share"] == 1.0 for k in report.stats["json_keys"])
    lengths = report.stats["prompt_chars"]
    assert lengths["min"] <= lengths["median"] <= lengths["p95"] <= lengths["max"]


def test_every_finding_explains_why_it_matters(tmp_path):
    rows = without_ids(order_rows(30) + order_rows(30)[:5]) + [{"input": "x", "output": ""}]
    report = check_rows(tmp_path, rows)
    assert report.findings
    for f in report.findings:
        assert f.why.endswith(".") and len(f.why) > 40 and f.count > 0


def test_report_json_has_ok_findings_and_stats(tmp_path):
    report = check_rows(tmp_path, order_rows(30))
    data = json.loads(json.dumps(report.to_json()))
    assert data["ok"] is False and data["counts"]["error"] == len(report.errors)
    assert set(data["findings"][0]) == {"code", "severity", "message", "why", "count", "examples"}
    assert data["stats"]["examples"] == 30


# --- task type and size ----------------------------------------------------------------------------------------------

def test_task_type_is_detected_from_the_outputs(tmp_path):
    json_rows = order_rows(10)
    short = [{"input": f"question {i}?", "output": f"answer {i}"} for i in range(10)]
    long = [{"input": f"write {i}", "output": " ".join(["word"] * 30) + f" {i}"} for i in range(10)]
    assert check_rows(tmp_path, json_rows).stats["task"] == "json"
    assert check_rows(tmp_path, short).stats["task"] == "short_answer"
    assert check_rows(tmp_path, long).stats["task"] == "text"
    overridden = check_rows(tmp_path, short, task="text")
    assert (overridden.stats["task"], overridden.stats["task_detected"]) == ("text", "short_answer")


def test_an_unknown_task_lists_the_valid_ones(tmp_path):
    with pytest.raises(InputError, match="task 'xml': expected one of json, short_answer, text"):
        check_rows(tmp_path, order_rows(5), task="xml")


def test_too_few_examples_is_an_error_and_a_few_hundred_is_a_warning(tmp_path):
    assert finding(check_rows(tmp_path, order_rows(checks.MIN_EXAMPLES_ERROR["json"] - 1)),
                   "too_few_examples").severity == "error"
    few = finding(check_rows(tmp_path, order_rows(120)), "few_examples")
    assert few.severity == "warning" and few.count == 120 and "200" in few.message
    assert "few_examples" not in codes(check_rows(tmp_path, order_rows(checks.MIN_EXAMPLES_WARNING["json"])))


def test_free_text_needs_more_examples_than_a_json_task(tmp_path):
    rows = [{"input": f"Describe item {i}", "output": f"Item {i} is " + " ".join(["quite"] * 12) + " nice."}
            for i in range(300)]
    assert finding(check_rows(tmp_path, rows, task="text"), "few_examples").severity == "warning"


def test_duplicates_do_not_count_towards_the_minimum(tmp_path):
    rows = without_ids(order_rows(40) * 3)
    too_few = finding(check_rows(tmp_path, rows), "too_few_examples")
    assert too_few.count == 40 and "40 distinct examples (120 with duplicates)" in too_few.message


# --- duplicates ------------------------------------------------------------------------------------------------------

def test_a_few_exact_duplicates_are_a_warning_with_their_ids(tmp_path):
    rows = order_rows(250)
    dupes = [dict(r, id=f"dup{i}", input="  " + r["input"].replace(" ", "   ")) for i, r in enumerate(rows[:10])]
    found = finding(check_rows(tmp_path, rows + dupes), "exact_duplicates")
    assert (found.severity, found.count) == ("warning", 10)
    assert found.examples[0] == "dup0 = o0000"


def test_many_exact_duplicates_are_an_error(tmp_path):
    rows = order_rows(250)
    dupes = [dict(r, id=f"dup{i}") for i, r in enumerate(rows[:40])]
    found = finding(check_rows(tmp_path, rows + dupes), "exact_duplicates")
    assert (found.severity, found.count) == ("error", 40)


def test_near_duplicates_are_found_and_exact_ones_are_not_counted_twice(tmp_path):
    rows = order_rows(250)
    near = [
        dict(rows[0], id="case", input=rows[0]["input"].upper()),  # case and punctuation only
        dict(rows[1], id="punct", input=rows[1]["input"].replace(".", "!").replace(",", "")),
        dict(rows[2], id="word", input="Today: " + rows[2]["input"]),  # one extra word
        dict(rows[3], id="exact"),  # an exact duplicate, reported on its own
    ]
    report = check_rows(tmp_path, rows + near)
    found = finding(report, "near_duplicates")
    assert found.severity == "warning" and found.count == 3
    assert set(found.examples) == {"case ~ o0000", "punct ~ o0001", "word ~ o0002"}
    assert finding(report, "exact_duplicates").count == 1


def test_texts_sharing_a_template_but_not_their_values_are_not_near_duplicates(tmp_path):
    assert "near_duplicates" not in codes(check_rows(tmp_path, order_rows(250, seed=3)))


# --- leakage -------------------------------------------------------------------------------------------------------

def test_eval_prompts_seen_in_training_are_leakage(tmp_path):
    rows = order_rows(300)
    train, held_out = rows[:250], rows[250:]
    held_out = held_out + [
        {"id": "leak-exact", "input": "  " + train[5]["input"].lower(), "output": "x"},
        {"id": "leak-near", "input": train[9]["input"].replace(".", " today."), "output": "x"},
    ]
    found = finding(check_rows(tmp_path, train, held_out), "train_eval_leakage")
    assert (found.severity, found.count) == ("error", 2)
    assert "2 of 52 eval prompts" in found.message and "1 exactly, 1 nearly" in found.message
    assert found.examples == ("leak-exact = o0005", "leak-near ~ o0009")


def test_a_disjoint_eval_set_does_not_leak(tmp_path):
    rows = order_rows(300)
    report = check_rows(tmp_path, rows[:250], rows[250:])
    assert "train_eval_leakage" not in codes(report) and report.stats["eval_examples"] == 50


# --- conflicting labels --------------------------------------------------------------------------------------------

def conflicting(rows: list[dict], n: int) -> list[dict]:
    return [dict(r, id=f"conflict{i}", output=json.dumps({**json.loads(r["output"]), "quantity": -1}))
            for i, r in enumerate(rows[:n])]


def test_a_few_conflicting_labels_are_a_warning(tmp_path):
    rows = order_rows(250)
    found = finding(check_rows(tmp_path, rows + conflicting(rows, 5)), "conflicting_labels")
    assert (found.severity, found.count) == ("warning", 5)
    assert found.examples[0] == "o0000 vs conflict0"


def test_many_conflicting_labels_are_an_error(tmp_path):
    rows = order_rows(250)
    found = finding(check_rows(tmp_path, rows + conflicting(rows, 30)), "conflicting_labels")
    assert (found.severity, found.count) == ("error", 30)


def test_the_same_json_written_differently_is_not_a_conflict(tmp_path):
    rows = order_rows(250)
    respaced = [dict(r, id=f"re{i}", output=json.dumps(json.loads(r["output"]), indent=1)) for i, r in
                enumerate(rows[:5])]
    assert "conflicting_labels" not in codes(check_rows(tmp_path, rows + respaced))


# --- JSON format ---------------------------------------------------------------------------------------------------

def test_a_few_invalid_json_outputs_in_a_json_task_are_a_warning(tmp_path):
    rows = order_rows(250)
    rows[3]["output"] = rows[3]["output"][:-1]  # cut off the closing brace
    rows[7]["output"] = '["a list", "not an object"]'
    found = finding(check_rows(tmp_path, rows), "invalid_json")
    assert (found.severity, found.count, found.examples) == ("warning", 2, ("o0003", "o0007"))


def test_many_invalid_json_outputs_are_an_error(tmp_path):
    rows = order_rows(250)
    for r in rows[:30]:
        r["output"] = r["output"].replace('"', "'")
    report = check_rows(tmp_path, rows)
    assert report.stats["task"] == "json"
    assert (finding(report, "invalid_json").severity, finding(report, "invalid_json").count) == ("error", 30)


def test_outputs_breaking_a_fixed_schema_and_rare_keys_are_warnings(tmp_path):
    rows = order_rows(250)
    for r in rows[:3]:
        fields = json.loads(r["output"])
        fields["custmer"] = fields.pop("customer")
        r["output"] = json.dumps(fields)
    report = check_rows(tmp_path, rows)
    outliers = finding(report, "json_key_set_outliers")
    assert (outliers.severity, outliers.count, outliers.examples) == ("warning", 3, ("o0000", "o0001", "o0002"))
    rare = finding(report, "json_rare_keys")
    assert rare.severity == "warning" and "custmer (3)" in rare.message


def test_optional_keys_are_information_not_a_problem(tmp_path):
    rows = order_rows(250)
    for r in rows[::2]:
        fields = json.loads(r["output"])
        del fields["city"]
        r["output"] = json.dumps(fields)
    report = check_rows(tmp_path, rows)
    assert finding(report, "json_key_sets_vary").severity == "info" and report.ok


def test_json_checks_do_not_run_for_text_tasks(tmp_path):
    rows = [{"input": f"question {i}?", "output": f"answer {i}"} for i in range(60)]
    assert not codes(check_rows(tmp_path, rows)) & {"invalid_json", "json_key_set_outliers", "json_rare_keys"}


# --- truncation and empty completions ------------------------------------------------------------------------------

def test_truncation_uses_the_token_counter_and_grades_by_share(tmp_path):
    rows = order_rows(250)
    long_ids = {r["id"] for r in rows[:10]}
    count = lambda ex: 900 if ex.example_id in long_ids else 40  # noqa: E731
    found = finding(check_rows(tmp_path, rows, count_tokens=count, max_length=512), "truncation")
    assert (found.severity, found.count) == ("warning", 10)
    assert "max_length=512" in found.message and "estimated" not in found.message
    many = {r["id"] for r in rows[:60]}
    report = check_rows(tmp_path, rows, count_tokens=lambda ex: 900 if ex.example_id in many else 40)
    assert finding(report, "truncation").severity == "error" and report.stats["tokens"]["max"] == 900
    assert report.stats["tokens_estimated"] is False


def test_without_a_tokenizer_lengths_are_estimated_and_say_so(tmp_path):
    rows = order_rows(250)
    rows[0]["output"] = json.dumps({"notes": "x" * 4000})
    found = finding(check_rows(tmp_path, rows, max_length=512), "truncation")
    assert found.count == 1 and "estimated" in found.message
    assert "truncation" not in codes(check_rows(tmp_path, rows, max_length=2000))


def test_empty_completions_are_an_error(tmp_path):
    rows = order_rows(250) + [{"id": "blank", "input": "Nothing here", "output": "  "},
                              {"id": "q", "question": "Unanswerable?", "answers": []}]
    found = finding(check_rows(tmp_path, rows), "empty_completion")
    assert (found.severity, found.count, found.examples) == ("error", 2, ("blank", "q"))
    assert "invalid_json" not in codes(check_rows(tmp_path, rows))  # not reported twice


# --- ensure_trainable ----------------------------------------------------------------------------------------------

def test_ensure_trainable_lists_the_errors_and_mentions_force(tmp_path):
    bad = check_rows(tmp_path, order_rows(20))
    with pytest.raises(InputError, match=r"failed 1 check\(s\) — too_few_examples: .*--force"):
        ensure_trainable(bad, force=False)
    ensure_trainable(bad, force=True)
    ensure_trainable(check_rows(tmp_path, order_rows(250)), force=False)


# --- the similarity join -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("threshold", [0.5, 0.8, 0.9, 1.0])
def test_similar_pairs_finds_exactly_the_pairs_a_full_comparison_finds(threshold):
    rng = random.Random(threshold)
    vocabulary = [f"t{i}" for i in range(30)]
    sets = [frozenset(rng.sample(vocabulary, rng.randint(0, 12))) for _ in range(300)]
    sets += [s | {"extra"} for s in sets[:40]] + sets[:10]

    def jaccard(a, b):
        return len(a & b) / len(a | b) if a and b else 0.0

    brute = {(i, j) for i in range(len(sets)) for j in range(i + 1, len(sets))
             if jaccard(sets[i], sets[j]) >= threshold - 1e-9}
    assert set(similar_pairs(sets, threshold)) == brute
    queries, rest = sets[:50], sets[50:]
    brute_q = {(q, j) for q in range(50) for j in range(len(rest)) if jaccard(queries[q], rest[j]) >= threshold - 1e-9}
    assert set(similar_pairs(rest, threshold, queries=queries)) == brute_q
