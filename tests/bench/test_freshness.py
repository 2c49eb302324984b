"""bench/peers/freshness.py: every ragtune update path has an acceptance row, the HTTP API's included, and the
API tool's server-side profile reads ``ragtune serve``'s real ``/metrics`` format."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys

import pytest
from tests.conftest import REPO

PEERS = REPO / "bench" / "peers"


def _load(name: str, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _freshness():
    for folder in (PEERS.parent, PEERS):  # PEERS ends up first: freshness.py imports its sibling _tools.py
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    return _load("bench_peers_freshness", PEERS / "freshness.py")


freshness = _freshness()
_tools = sys.modules["_tools"]


def _round(path: str, changed: int, seconds: float, **extra) -> dict:
    r = {"path": path, "changed": changed, "update_s": seconds * 0.8, "searchable_s": seconds,
         "first_search_s": seconds * 0.2, "first_found": True, "found": changed, "stale_stored": 0,
         "stale_retrievable": 0, "report": {"updated": changed},
         "first_search_stages_ms": {"server_upload_ms": 300.0 * changed, "server_upload_requests": changed,
                                    "server_search_ms": 60.0, "server_search_requests": 1},
         "loadavg_1_5_15": [1.5, 1.2, 1.0]}
    return {**r, **extra}


def test_the_http_api_is_a_default_tool_with_its_own_path():
    assert "ragtune-api" in freshness.TOOLS
    assert freshness.PATHS["ragtune-api"] == ("api",)
    assert "POST /v1/documents" in freshness.PATH_LABELS["api"]
    assert issubclass(_tools.TOOLS["ragtune-api"], _tools.TOOLS["ragtune"])


def test_acceptance_has_a_row_per_ragtune_path_the_api_included():
    runs = {
        "ragtune": {"rounds": [_round("sync", 1, 0.3), _round("sync", 10, 2.0), _round("upload", 1, 0.6)]},
        "ragtune-api": {"rounds": [_round("api", 1, 0.4), _round("api", 10, 3.0)]},
        "llamaindex": {"rounds": [_round("refresh", 1, 0.1)]},
    }
    checks = freshness.acceptance(runs, 10_000)
    assert [c["ok"] for c in checks] == [True, False, True]  # sync, upload (too slow), api
    api = checks[-1]
    assert api["check"] == (f"ragtune {freshness.PATH_LABELS['api']}: 1 changed doc in 10,000 searchable "
                            "<= 0.5 s, 0 stale")
    assert api["value"] == 0.4 and api["stale"] == 0


@pytest.mark.parametrize("change", [{"first_found": False}, {"stale_stored": 1}, {"stale_retrievable": 2},
                                    {"searchable_s": 0.51}])
def test_an_api_round_that_is_stale_slow_or_not_found_misses(change):
    runs = {"ragtune-api": {"rounds": [_round("api", 1, 0.4, **change)]}}
    assert [c["ok"] for c in freshness.acceptance(runs, 10_000)] == [False]


def test_the_api_profile_is_the_servers_time_per_route_from_its_metrics():
    from ragtune.api.metrics import Metrics

    metrics = Metrics()

    class Http:  # stands in for the httpx client: GET /metrics answers what the server would render
        def get(self, path: str):
            assert path == "/metrics"
            return type("Response", (), {"text": metrics.render(documents=10, chunks=12)})()

    tool = _tools.RagtuneApi.__new__(_tools.RagtuneApi)
    tool.http = Http()
    tool._search_stages = {"load_ms": 40.0, "total_ms": 60.0}  # what the first search's JSON said (timings_ms)
    metrics.observe("POST", "/v1/search", 200, 0.5, None)  # the warm-up: before the round, not counted
    tool.before_update()
    for seconds in (0.2, 0.3):
        metrics.observe("POST", "/v1/documents", 200, seconds, None)
    metrics.observe("POST", "/v1/search", 200, 0.07, None)
    metrics.observe("GET", "/v1/documents/{doc_id:path}", 200, 9.0, None)  # another route: ignored
    timings = tool.last_timings
    assert timings["server_upload_requests"] == 2 and timings["server_search_requests"] == 1
    assert timings["server_upload_ms"] == pytest.approx(500.0, abs=0.01)
    assert timings["server_search_ms"] == pytest.approx(70.0, abs=0.01)
    assert timings["search_load_ms"] == 40.0 and timings["search_total_ms"] == 60.0


def test_the_render_shows_the_api_rows_and_its_profile():
    render = _load("bench_render_freshness", REPO / "bench" / "render.py")
    payload = json.loads((REPO / "bench" / "results" / "peers_freshness.json").read_text())
    results = payload["results"]
    results["runs"].pop("ragtune-api", None)  # a run from before the API path existed
    results["checks"] = [c for c in results["checks"] if "/v1/" not in c["check"]]
    before = render.peers_freshness_block(payload)
    api = copy.deepcopy(results["runs"]["ragtune"])
    api["rounds"] = [_round("api", n, 0.1 * n) for n in (1, 10, 100)]
    api["warm_up"] = []
    results["runs"]["ragtune-api"] = api
    results["path_labels"] = {**results["path_labels"], "api": freshness.PATH_LABELS["api"]}
    after = render.peers_freshness_block(payload)
    assert "ragtune HTTP API (profile)" not in before
    assert "ragtune HTTP API (profile)" in after
    assert after.count("| ragtune (HTTP API) |") == 3 + 1  # three rounds, one build row


def test_each_path_warms_up_on_a_document_no_round_changes():
    docs = [_tools.Doc(f"d{i:03d}", f"text {i}") for i in range(400)]
    pool = [f"Sentence number {i} of the pool." for i in range(50)]
    plans, warm_ups = freshness.plan_changes(docs, pool, 7, 2)
    changed = [d.id for rounds in plans for batch in rounds for d in batch]
    assert len(warm_ups) == 2 and not {w.id for w in warm_ups} & set(changed)
    assert len(set(changed)) == len(changed) == 2 * sum(freshness.ROUNDS)
    again, _ = freshness.plan_changes(docs, pool, 7, 2)
    assert again == plans


def test_the_render_shows_the_warm_up_changes_when_a_run_has_them():
    render = _load("bench_render_warm_up", REPO / "bench" / "render.py")
    payload = json.loads((REPO / "bench" / "results" / "peers_freshness.json").read_text())
    for run in payload["results"]["runs"].values():
        run.pop("warm_up", None)
    assert "warm-up change" not in render.peers_freshness_block(payload)
    payload["results"]["runs"]["ragtune"]["warm_up"] = [_round("sync", 1, 0.7), _round("upload", 1, 0.2)]
    block = render.peers_freshness_block(payload)
    assert "warm-up change" in block and " 0.700 |" in block
