"""Adapters (any key) and diagnose runs (admin keys) over HTTP."""

from __future__ import annotations

import json


def test_adapters_are_listed_without_server_paths(api, tmp_path):
    assert api.get("eng", "/v1/adapters").json() == {"adapters": []}
    folder = tmp_path / "adapter"
    folder.mkdir()
    (folder / "adapter_config.json").write_text("{}")
    record = api.workspace.registry.add("memo", folder, base_model={"model": "default"}, data={"n_train": 5},
                                        hyperparameters={"r": 8}, training={})
    api.workspace.registry.record_metrics(record.id, "eval", {"f1": 0.5})
    (adapter,) = api.get("eng", "/v1/adapters").json()["adapters"]
    assert adapter["id"] == record.id and adapter["promoted"] is False and adapter["metrics"] == {"eval": {"f1": 0.5}}
    assert "path" not in adapter and str(api.workspace.home) not in json.dumps(adapter)


def test_diagnose_runs_and_their_reports(api):
    runs = api.workspace.evaluation.runs_dir
    runs.mkdir(parents=True, exist_ok=True)
    (runs / "diagnose-abc.json").write_text(json.dumps({"verdict": "rag", "target": 0.8, "conditions": {
        "closed_book": {"value": 0.1}}, "evidence": ["oracle beats closed book"]}))
    (runs / "diagnose-abc.html").write_text("<html><body>report</body></html>")
    (runs / "diagnose-noreport.json").write_text(json.dumps({"verdict": "prompt", "conditions": {}}))
    (runs / "diagnose-broken.json").write_text("{half")
    listed = {r["id"]: r for r in api.get("admin", "/v1/diagnose").json()["runs"]}
    assert set(listed) == {"abc", "noreport"}
    assert listed["abc"]["verdict"] == "rag" and listed["abc"]["has_report"] and not listed["noreport"]["has_report"]
    assert api.get("admin", "/v1/diagnose/abc").json()["evidence"] == ["oracle beats closed book"]
    report = api.get("admin", "/v1/diagnose/abc/report")
    assert report.status_code == 200 and "report" in report.text and "text/html" in report.headers["content-type"]
    assert "default-src 'none'" in report.headers["content-security-policy"]
    assert api.get("admin", "/v1/diagnose/noreport/report").status_code == 404
    for bad in ["nope", "..%2F..%2Fkeys", "abc.json", "broken"]:
        assert api.get("admin", f"/v1/diagnose/{bad}").status_code == 404, bad
    assert api.get("eng", "/v1/diagnose/abc").status_code == 403
