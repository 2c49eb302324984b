"""Every route but the health check needs a working key; failures are counted per client and end in 429."""

from __future__ import annotations

import logging

import pytest

ROUTES = [("GET", "/v1/me"), ("GET", "/v1/status"), ("GET", "/v1/models"), ("POST", "/v1/chat/completions"),
          ("POST", "/v1/search"), ("GET", "/v1/documents"), ("GET", "/v1/documents/eng/heron.md"),
          ("POST", "/v1/documents"), ("DELETE", "/v1/documents/eng/heron.md"), ("POST", "/v1/sync"),
          ("GET", "/v1/sources"), ("GET", "/v1/audit"), ("GET", "/v1/audit/verify"), ("GET", "/v1/audit/1"),
          ("POST", "/v1/audit/1/replay"), ("GET", "/v1/adapters"), ("GET", "/v1/diagnose"),
          ("GET", "/v1/diagnose/x"), ("GET", "/v1/diagnose/x/report"), ("GET", "/metrics")]


def test_the_health_check_is_public(api):
    response = api.client.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"


@pytest.mark.parametrize("method,path", ROUTES)
def test_every_other_route_needs_a_key(api, method, path):
    response = api.client.request(method, path, json={})
    assert response.status_code == 401, response.text
    assert response.json()["error"]["type"] == "authentication_error"
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["Bearer", "Bearer nonsense", "Basic dXNlcjpwYXNz", "bearer rt_kzz_x",
                                    "Bearer rt_k0000000000_" + "A" * 43])
def test_malformed_or_unknown_keys_are_refused(api, header):
    assert api.client.get("/v1/me", headers={"Authorization": header}).status_code == 401


def test_who_am_i(api):
    assert api.get("eng", "/v1/me").json() == {"key_id": api.ids["eng"], "name": "eng-user", "groups": ["eng"],
                                               "admin": False}
    assert api.get("admin", "/v1/me").json()["admin"] is True


def test_a_revoked_key_stops_at_once(api):
    assert api.get("eng", "/v1/me").status_code == 200
    api.workspace.keys.revoke(api.ids["eng"])
    assert api.get("eng", "/v1/me").status_code == 401


def test_admin_routes_refuse_other_keys(api):
    for method, path in [("GET", "/metrics"), ("GET", "/v1/sources"), ("GET", "/v1/diagnose"),
                         ("POST", "/v1/sync")]:
        response = api.client.request(method, path, headers=api.headers("eng"), json={"source": "eng"})
        assert response.status_code == 403 and response.json()["error"]["type"] == "permission_error", path


def test_repeated_failures_from_one_client_are_rate_limited(api):
    for _ in range(5):
        assert api.client.get("/v1/me", headers={"Authorization": "Bearer wrong"}).status_code == 401
    blocked = api.client.get("/v1/me", headers={"Authorization": "Bearer wrong"})
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
    assert blocked.json()["error"]["type"] == "rate_limit_error"
    assert api.get("eng", "/v1/me").status_code == 429  # the address is blocked, whatever key it brings
    assert api.client.get("/healthz").status_code == 200


def test_the_limiter_forgets_old_failures_and_bounds_its_memory():
    from ragtune.api.ratelimit import AuthFailures

    limiter = AuthFailures(limit=2, window=0.05, max_clients=3)
    limiter.record("a")
    limiter.record("a")
    assert limiter.retry_after("a") >= 1
    import time

    time.sleep(0.06)
    assert limiter.retry_after("a") == 0
    for client in "bcdef":
        limiter.record(client)
    assert len(limiter._failures) == 3


def test_the_access_log_names_the_key_id_never_the_key(api, caplog):
    with caplog.at_level(logging.INFO, logger="ragtune.access"):
        api.get("eng", "/v1/me")
        api.client.get("/v1/me", headers={"Authorization": "Bearer rt_k0000000000_" + "S" * 43})
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert api.ids["eng"] in text and '"GET /v1/me" 200' in text and '"GET /v1/me" 401' in text
    assert api.keys["eng"].split("_", 2)[2] not in text and "S" * 43 not in text
