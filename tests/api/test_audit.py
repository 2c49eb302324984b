"""The audit log over HTTP: each key sees and replays only its own answers; admin keys see all."""

from __future__ import annotations


def ask(api, role: str, question: str) -> str:
    response = api.post(role, "/v1/chat/completions", json={"messages": [{"role": "user", "content": question}]})
    assert response.status_code == 200, response.text
    return response.json()["ragtune"]["audit_id"]


def test_a_key_lists_and_reads_only_its_own_records(api):
    mine = [ask(api, "eng", "When does Project Heron ship?"), ask(api, "eng", "Who is the budget owner?")]
    theirs = ask(api, "hr", "Who is the payroll lead?")
    api.workspace.answers.ask("Who is the budget owner?")  # a local CLI answer: no key id
    records = api.get("eng", "/v1/audit").json()["records"]
    assert [r["id"] for r in records] == mine[::-1] and {r["api_key_id"] for r in records} == {api.ids["eng"]}
    assert [r["id"] for r in api.get("eng", "/v1/audit", params={"limit": 1}).json()["records"]] == [mine[1]]
    assert len(api.get("admin", "/v1/audit").json()["records"]) == 4
    full = api.get("eng", f"/v1/audit/{mine[0]}").json()
    assert full["id"] == mine[0] and full["question"] == "When does Project Heron ship?" and full["hash"]
    assert api.get("eng", f"/v1/audit/{theirs}").status_code == 404
    seq = api.get("admin", f"/v1/audit/{theirs}").json()["seq"]
    assert api.get("eng", f"/v1/audit/{seq}").status_code == 404  # not by sequence number either
    assert api.get("admin", f"/v1/audit/{seq}").json()["id"] == theirs
    assert api.get("eng", "/v1/audit", params={"limit": 0}).status_code == 422


def test_verify_says_whether_the_chain_holds(api):
    ask(api, "eng", "When does Project Heron ship?")
    assert api.get("none", "/v1/audit/verify").json() == {"ok": True, "records": 1, "first_bad": None,
                                                          "reason": None}


def test_replay_is_for_the_records_a_key_may_see(api):
    record = ask(api, "eng", "When does Project Heron ship?")
    replayed = api.post("eng", f"/v1/audit/{record}/replay").json()
    assert replayed["identical"] and replayed["record_id"] == record
    hidden = api.post("hr", f"/v1/audit/{record}/replay")
    missing = api.post("hr", "/v1/audit/ffffffffffffffff/replay")
    assert hidden.status_code == missing.status_code == 404
    assert api.post("admin", f"/v1/audit/{record}/replay").json()["identical"]
    # its documents move out of the key's reach: the key can no longer replay it
    api.workspace.documents.ingest([api.workspace.documents.store.sources()[1].root], source="eng", groups=["x"])
    assert api.post("eng", f"/v1/audit/{record}/replay").status_code == 404


def test_replay_refuses_a_log_that_does_not_verify(api):
    import sqlite3

    record = ask(api, "eng", "When does Project Heron ship?")
    db = sqlite3.connect(api.workspace.home / "audit.sqlite")
    db.execute("UPDATE records SET body = replace(body, 'Heron', 'Egret')")
    db.commit()
    response = api.post("eng", f"/v1/audit/{record}/replay")
    assert response.status_code == 409 and "does not verify" in response.json()["error"]["message"]
    assert api.get("eng", "/v1/audit/verify").json()["ok"] is False
