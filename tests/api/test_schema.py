"""Property-based fuzzing of every route in /openapi.json (schemathesis) with a valid admin key: whatever the
input — valid by the schema or not — no route answers 5xx, and 2xx bodies match their declared schemas. Bounded
examples keep it to about a minute on two cores."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from tests.api.conftest import make_keys, make_workspace

from ragtune.api import create_app
from ragtune.api.ratelimit import AuthFailures

EXAMPLES = {GenerationMode.POSITIVE: 30, GenerationMode.NEGATIVE: 10}


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    ws = make_workspace(root / "home", root / "docs")
    keys, _ = make_keys(ws)
    app = create_app(ws, failures=AuthFailures(limit=1_000_000))
    return schemathesis.openapi.from_asgi("/openapi.json", app), keys["admin"]


@pytest.mark.parametrize("mode", list(EXAMPLES), ids=lambda m: m.value)
def test_no_input_makes_a_route_fail(fuzzed, mode):
    schema, key = fuzzed
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES[mode], deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {key}"},
                                   checks=[not_a_server_error, response_schema_conformance])

        try:
            check()
        except Unsatisfiable:  # no parameters or body to make invalid (GET /healthz): nothing negative to send
            assert mode is GenerationMode.NEGATIVE
