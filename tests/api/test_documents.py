"""Search and documents over HTTP: filtered by the key's groups; uploads are durable before the response; sizes,
types, names and groups are checked; deletes and syncs follow who may do what."""

from __future__ import annotations


def upload(api, role: str, name: str, data: bytes, **fields):
    return api.post(role, "/v1/documents", files={"file": (name, data, "text/markdown")}, data=fields)


def test_search_returns_spans_of_visible_documents_only(api):
    for mode in ("hybrid", "bm25", "dense"):
        body = api.post("eng", "/v1/search", json={"query": "payroll lead budget owner", "mode": mode, "k": 10}).json()
        assert {r["doc_id"] for r in body["results"]} <= {"eng/heron.md", "all/handbook.md"}, mode
        assert body["results"] and body["mode"] == mode
        hit = body["results"][0]
        assert {"doc_id", "chunk_id", "start", "end", "score", "text"} <= set(hit)
        assert "source_path" not in hit  # server paths stay on the server
        stages = body["timings_ms"]  # where the search spent its time, as `ragtune search --json` reports it
        assert {"load_ms", "total_ms"} <= set(stages) and ("embed_ms" in stages) == (mode != "bm25")
        assert all(v >= 0 for v in stages.values()) and stages["total_ms"] >= stages["load_ms"]
    hr = api.post("hr", "/v1/search", json={"query": "payroll lead", "k": 3}).json()
    assert hr["results"][0]["doc_id"] == "hr/payroll.md"
    assert len(api.post("admin", "/v1/search", json={"query": "payroll budget badge", "mode": "bm25", "k": 10}).json()["results"]) == 3


def test_search_filters_and_errors(api):
    body = api.post("admin", "/v1/search", json={"query": "payroll", "where": {"format": "md"}}).json()
    assert body["results"]
    assert api.post("admin", "/v1/search", json={"query": "payroll", "where": {"format": "pdf"}}).json()[
        "results"] == []
    blank = api.post("eng", "/v1/search", json={"query": "   "})
    assert blank.status_code == 400 and "empty" in blank.json()["error"]["message"]
    assert api.post("eng", "/v1/search", json={"query": "x", "mode": "fuzzy"}).status_code == 422
    assert api.post("eng", "/v1/search", json={"query": "x", "k": 101}).status_code == 422


def test_listing_and_reading_documents(api):
    listed = api.get("eng", "/v1/documents").json()["documents"]
    assert [d["id"] for d in listed] == ["all/handbook.md", "eng/heron.md"]
    assert listed[1]["groups"] == ["eng"] and listed[1]["source"] == "eng" and listed[1]["chunks"] >= 1
    assert [d["id"] for d in api.get("admin", "/v1/documents", params={"source": "hr"}).json()["documents"]] == [
        "hr/payroll.md"]
    doc = api.get("eng", "/v1/documents/eng/heron.md").json()
    assert "Dana Okafor" in doc["text"] and doc["version"] and doc["metadata"]["format"] == "md"
    assert all(doc["text"][c["start"]:c["end"]] for c in doc["chunks"])
    hidden = api.get("eng", "/v1/documents/hr/payroll.md")
    missing = api.get("eng", "/v1/documents/hr/nothing.md")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"]["message"].replace("payroll", "X") == missing.json()["error"]["message"].replace(
        "nothing", "X")


def test_an_upload_is_searchable_when_the_response_arrives(api):
    created = upload(api, "eng", "falcon.md", b"# Falcon\n\nThe Falcon telescope calibrates at dawn.\n")
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["id"] == "uploads/falcon.md" and body["groups"] == ["eng"] and not body["unchanged"]
    hits = api.post("eng", "/v1/search", json={"query": "Falcon telescope calibrates", "k": 1}).json()["results"]
    assert hits[0]["doc_id"] == "uploads/falcon.md"
    assert "uploads/falcon.md" in [d["id"] for d in api.get("eng", "/v1/documents").json()["documents"]]
    assert "uploads/falcon.md" not in [d["id"] for d in api.get("hr", "/v1/documents").json()["documents"]]
    again = upload(api, "eng", "falcon.md", b"# Falcon\n\nThe Falcon telescope calibrates at dawn.\n")
    assert again.status_code == 200 and again.json()["unchanged"] is True
    changed = upload(api, "eng", "falcon.md", b"# Falcon\n\nThe Falcon telescope calibrates at dusk.\n")
    assert changed.status_code == 200 and changed.json()["updated"] is True


def test_upload_checks(api, home_dir=None):
    assert upload(api, "eng", "x.exe", b"MZ").status_code == 415
    assert upload(api, "eng", "noext", b"text").status_code == 400
    assert upload(api, "eng", "x.md", b"text", groups="hr").status_code == 403
    assert upload(api, "eng", "x.md", b"text", groups="bad group").status_code == 400
    assert upload(api, "eng", "x.md", b"text", source="../up").status_code == 400
    assert upload(api, "eng", "x.md", b"text", source="eng").status_code == 409  # a CLI-ingested source
    assert api.post("eng", "/v1/documents", data={"source": "uploads"}).status_code == 422  # no file
    traversal = upload(api, "admin", "../../../../keys.sqlite.md", b"Harmless text.")
    assert traversal.status_code == 201 and traversal.json()["id"] == "uploads/keys.sqlite.md"
    home = api.workspace.home
    assert (home / "uploads" / "uploads" / "keys.sqlite.md").is_file()
    assert upload(api, "admin", "pub.md", b"Public text.", groups="").json()["groups"] == []
    assert upload(api, "admin", "fin.md", b"Finance text.", groups="finance").json()["groups"] == ["finance"]
    assert upload(api, "eng", "fin.md", b"Overwrite.").status_code == 409


def test_upload_size_limit(api, monkeypatch):
    monkeypatch.setattr(api.workspace.uploads, "max_bytes", 100)
    response = upload(api, "eng", "big.md", b"x" * 101)
    assert response.status_code == 413 and response.json()["error"]["type"] == "request_too_large"
    assert upload(api, "eng", "small.md", b"Small enough text.").status_code == 201


def test_deleting_documents(api):
    upload(api, "eng", "mine.md", b"My notes.")
    assert api.delete("hr", "/v1/documents/uploads/mine.md").status_code == 404
    assert api.delete("eng", "/v1/documents/eng/heron.md").status_code == 403  # not an upload
    deleted = api.delete("eng", "/v1/documents/uploads/mine.md")
    assert deleted.status_code == 200 and deleted.json() == {"id": "uploads/mine.md", "deleted": True}
    assert api.get("eng", "/v1/documents/uploads/mine.md").status_code == 404
    assert api.delete("eng", "/v1/documents/uploads/mine.md").status_code == 404
    assert api.delete("admin", "/v1/documents/hr/payroll.md").status_code == 200


def test_sources_and_sync_for_admin_keys(api, tmp_path):
    sources = api.get("admin", "/v1/sources").json()["sources"]
    assert {s["name"] for s in sources} == {"eng", "hr", "all"}
    (tmp_path / "docs" / "eng" / "heron.md").write_text("# Plans\n\nProject Heron ships on 2 May.\n")
    report = api.post("admin", "/v1/sync", json={"source": "eng"}).json()
    assert report["updated"] == 1 and report["failed"] == []
    assert api.get("eng", "/v1/documents/eng/heron.md").json()["groups"] == ["eng"]  # groups kept
    assert api.post("admin", "/v1/sync", json={"source": "nope"}).status_code == 404
    assert api.post("admin", "/v1/sync", json={"source": "eng", "groups": ["bad group"]}).status_code == 400
