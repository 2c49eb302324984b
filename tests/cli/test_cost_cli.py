"""`ragtune cost` through its real interface: JSON on a home with history and on an empty one, sweeps, and a bad
price sheet as one line."""

from __future__ import annotations

import json

import pytest
from tests.cli.test_cli import assert_user_error, ragtune
from tests.conftest import REPO, write
from tests.economics.homes import busy_home  # noqa: F401 — the fixture

EXAMPLE = REPO / "examples" / "prices.yaml"
GIVEN = """\
currency: USD
options:
  prompt: {api: {input_per_1m: 2, output_per_1m: 10}}
  finetune: {local: {per_hour: 3.6, seconds_per_query: 1}}
training: {per_hour: 10}
given:
  queries_per_day: 1000
  prompt_tokens: 1000
  completion_tokens: 100
  training_hours: 2
  eval_hours: 0.5
  retrain_every_days: 30.4375
"""


def test_cost_json_on_a_home_with_audit_eval_and_adapter_history(busy_home):  # noqa: F811 — the imported fixture
    result = ragtune(busy_home, "cost", "--prices", str(EXAMPLE), "--volume", "500/day", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)  # only JSON on stdout
    assert data["currency"] == "USD" and data["volume"]["queries_per_day"] == 500
    assert set(data["options"]) == {"prompt", "rag", "finetune", "rag+finetune"}
    for option in data["options"].values():
        assert option["complete"], option["unknown"]
        assert option["monthly"] is not None and option["per_1k_queries"] is not None
    # every input measured from this home, and each measurement names the records it rests on
    assert {"training_hours", "eval_hours", "retrain_every_days", "context_tokens", "prompt_tokens.rag",
            "embed_seconds_per_chunk", "chunks_changed_per_day"} <= set(data["measured"])
    assert data["inputs"]["training_hours"]["value"] == 1.5
    assert data["inputs"]["context_tokens"]["records"] == 4
    assert "2 audit records and 2 eval items" in data["inputs"]["context_tokens"]["from"]
    assert data["given"] == [] and data["missing"] == []
    assert data["measurements"]["answer_records"] == 4
    assert isinstance(data["break_even"], list) and data["recommendation"]
    assert data["verdict"] is None  # no diagnose run yet: cost alone


def test_cost_json_on_an_empty_home_says_what_is_missing(home):
    result = ragtune(home, "cost", "--prices", str(EXAMPLE), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["measured"] == [] and data["volume"]["status"] == "missing"
    assert any(m.startswith("training_hours: train an adapter") for m in data["missing"])
    assert any(m.startswith("queries_per_day:") for m in data["missing"])
    assert not any(o["complete"] for o in data["options"].values())
    assert data["recommendation"].startswith("No recommendation yet")
    assert not home.exists()  # estimating wrote nothing


def test_cost_json_on_an_empty_home_uses_only_the_given_numbers(home, tmp_path):
    sheet = write(tmp_path / "prices.yaml", GIVEN)
    data = json.loads(ragtune(home, "cost", "--prices", str(sheet), "--json").stdout)
    assert data["measured"] == [] and data["missing"] == []
    # only the inputs the priced options use: tokens for the API option, none of RAG's; the local option's
    # seconds come from its own price entry
    assert set(data["inputs"]) == {"prompt_tokens.prompt", "completion_tokens.prompt", "training_hours",
                                   "eval_hours", "retrain_every_days", "horizon_months"}
    assert data["assumed"] == ["horizon_months"]
    assert data["volume"] == {"queries_per_day": 1000, "status": "given", "value": 1000, "records": None,
                              "from": "price sheet"}
    # prompt: 0.003 a query; finetune: 0.001 a query + 25 a month retraining + 25/12 first training
    assert data["options"]["prompt"]["per_query"] == 0.003
    assert data["options"]["finetune"]["fixed_per_month"] == pytest.approx(25 + 25 / 12, abs=1e-4)
    (point,) = data["break_even"]
    assert point["queries_per_day"] == pytest.approx((25 + 25 / 12) / (0.002 * 30.4375), abs=0.01)
    assert point["cheaper_below"] == "prompt" and point["cheaper_above"] == "finetune"
    assert data["recommendation"].startswith("A fine-tuned adapter now")


def test_sweep_gives_a_table_across_the_range(home, tmp_path):
    sheet = write(tmp_path / "prices.yaml", GIVEN)
    data = json.loads(ragtune(home, "cost", "--prices", str(sheet), "--sweep", "10..10000", "--json").stdout)
    volumes = [row["queries_per_day"] for row in data["sweep"]]
    assert volumes[0] == 10 and volumes[-1] == 10000 and 444.9 in [round(v, 1) for v in volumes]
    assert all(set(row) == {"queries_per_day", "prompt", "finetune"} for row in data["sweep"])
    human = ragtune(home, "cost", "--prices", str(sheet), "--sweep", "10..10000")
    assert human.returncode == 0 and "Monthly cost across the sweep" in human.stdout


def test_the_home_price_sheet_is_the_default(home, tmp_path):
    write(home / "prices.yaml", GIVEN)
    assert json.loads(ragtune(home, "cost", "--json").stdout)["prices"].endswith("prices.yaml")


@pytest.mark.parametrize("args, fragments", [
    (["cost"], ["no price sheet: pass --prices FILE"]),
    (["cost", "--volume", "lots"], ["--volume 'lots': expected queries a day"]),
    (["cost", "--sweep", "100..10"], ["--sweep '100..10': the end must be above the start"]),
])
def test_user_errors_are_one_line(home, args, fragments):
    assert_user_error(ragtune(home, *args, "--json"), *fragments)


def test_a_bad_price_sheet_is_one_line_naming_field_and_line(home, tmp_path):
    sheet = write(tmp_path / "prices.yaml", GIVEN.replace("input_per_1m: 2", "input_per_1m: -2"))
    assert_user_error(ragtune(home, "cost", "--prices", str(sheet), "--json"),
                      "prices.yaml:3: options.prompt.api.input_per_1m: -2 is negative")
