"""The sync planner decides add / update / unchanged / remove from fingerprints alone."""

from ragtune.ingest.planner import plan_sync

STORED = {"a": "1", "b": "2", "c": "3"}


def test_ingest_classifies_without_removing():
    plan = plan_sync(STORED, {"a": "1", "b": "changed", "d": "4"}, remove_missing=False)
    assert plan.added == ("d",)
    assert plan.updated == ("b",)
    assert plan.unchanged == ("a",)
    assert plan.removed == ()
    assert plan.to_index == ("d", "b")


def test_sync_removes_what_is_gone():
    plan = plan_sync(STORED, {"a": "1"}, remove_missing=True)
    assert plan.removed == ("b", "c")


def test_sync_keeps_documents_that_failed_to_read_this_time():
    plan = plan_sync(STORED, {"a": "1"}, remove_missing=True, unreadable=["b"])
    assert plan.removed == ("c",)


def test_empty_store_adds_everything():
    plan = plan_sync({}, {"x": "1", "y": "2"}, remove_missing=True)
    assert plan.added == ("x", "y") and plan.removed == ()
