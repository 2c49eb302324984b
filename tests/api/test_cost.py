"""GET /v1/cost: the `ragtune cost --json` estimate over HTTP, for admin keys, with the home's price sheet."""

from __future__ import annotations

from tests.cli.test_cost_cli import GIVEN
from tests.conftest import write


def test_cost_is_for_admin_keys_and_needs_the_home_price_sheet(api):
    assert api.get("eng", "/v1/cost").status_code == 403
    missing = api.get("admin", "/v1/cost")
    assert missing.status_code == 400 and "no price sheet" in missing.json()["error"]["message"]


def test_cost_returns_the_estimate_with_a_sweep(api):
    write(api.workspace.home / "prices.yaml", GIVEN)
    data = api.get("admin", "/v1/cost", params={"volume": 200, "low": 10, "high": 10000}).json()
    assert data["volume"]["queries_per_day"] == 200 and data["volume"]["from"] == "--volume"
    assert data["sweep"][0]["queries_per_day"] == 10 and data["sweep"][-1]["queries_per_day"] == 10000
    (point,) = data["break_even"]
    assert point["cheaper_below"] == "prompt" and data["recommendation"].startswith("A prompted model now")
    # the three documents the fixture ingested are in the change history: measured, not given
    assert data["measurements"]["history_entries"] == 3


def test_a_bad_sweep_or_sheet_is_a_400(api):
    write(api.workspace.home / "prices.yaml", GIVEN)
    assert api.get("admin", "/v1/cost", params={"low": 10}).status_code == 400
    assert api.get("admin", "/v1/cost", params={"low": 100, "high": 10}).status_code == 400
    write(api.workspace.home / "prices.yaml", GIVEN.replace("currency: USD", "currency: dollars"))
    bad = api.get("admin", "/v1/cost")
    assert bad.status_code == 400 and "prices.yaml:1: currency: unknown currency 'dollars'" in bad.json()["error"]["message"]
