"""Status, metrics, the error contract (JSON, right status, never a traceback) and the public web UI."""

from __future__ import annotations

from ragtune.api.app import STATIC


def test_status_counts_what_the_key_can_see(api):
    assert api.get("eng", "/v1/status").json()["documents"] == 2  # heron + the handbook
    assert api.get("none", "/v1/status").json()["documents"] == 1
    assert api.get("admin", "/v1/status").json()["documents"] == 3


def test_metrics_are_prometheus_text_for_admin_keys(api):
    api.get("eng", "/v1/documents/eng/heron.md")
    api.get("eng", "/v1/documents/hr/payroll.md")
    api.client.get("/v1/me")
    text = api.get("admin", "/metrics").text
    assert 'ragtune_http_requests_total{method="GET",route="/v1/documents/{doc_id:path}",status="200"} 1' in text
    assert 'ragtune_http_requests_total{method="GET",route="/v1/documents/{doc_id:path}",status="404"} 1' in text
    assert 'ragtune_http_errors_total{route="/v1/documents/{doc_id:path}",type="not_found_error"} 1' in text
    assert 'ragtune_http_request_duration_seconds_bucket{route="/v1/me",le="+Inf"} 1' in text
    assert "ragtune_auth_failures_total 1" in text and "ragtune_documents 3" in text and "ragtune_chunks " in text
    assert "heron.md" not in text  # routes are templates: no document ids (or any raw path) in labels
    unmatched = api.client.get("/nowhere/secret-name")
    assert unmatched.status_code == 404 and unmatched.json()["error"]["type"] == "not_found_error"
    assert "secret-name" not in api.get("admin", "/metrics").text


def test_an_internal_error_is_a_bare_500_and_logged(api, caplog, monkeypatch):
    def broken(viewer=None):
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr(api.workspace.documents, "status", broken)
    response = api.get("eng", "/v1/status")
    assert response.status_code == 500
    assert response.json() == {"error": {"message": "internal server error", "type": "server_error", "code": None}}
    assert "secret internals" in caplog.text and "Traceback" in caplog.text  # server-side only


def test_validation_errors_name_the_field(api):
    response = api.post("eng", "/v1/search", json={"query": "x", "k": 0})
    assert response.status_code == 422 and "k" in response.json()["error"]["message"]
    assert api.post("eng", "/v1/search", content=b"{not json").status_code == 422
    assert api.client.put("/healthz").status_code == 405


def test_bodies_over_the_limit_are_refused_before_they_are_read(api):
    big = b'{"query": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    response = api.client.post("/v1/search", content=big, headers={**api.headers("eng"),
                                                                    "Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["error"]["type"] == "request_too_large"

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(20):
            yield b"x" * 100_000

    streamed = api.client.post("/v1/search", content=chunks(), headers={**api.headers("eng"),
                                                                        "Content-Type": "application/json"})
    assert streamed.status_code == 413


def test_the_web_ui_is_served_without_a_key(api):
    if not (STATIC / "index.html").is_file():
        return
    page = api.client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert api.client.get("/ui/index.html").status_code == 200
    assert api.client.get("/ui/../../keys.sqlite").status_code == 404


def test_the_openapi_schema_lists_every_route(api):
    paths = api.client.get("/openapi.json").json()["paths"]
    assert {"/v1/chat/completions", "/v1/search", "/v1/documents", "/v1/documents/{doc_id}", "/v1/audit",
            "/v1/audit/{record_id}/replay", "/metrics", "/v1/diagnose/{run_id}/report"} <= set(paths)
