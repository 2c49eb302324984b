"""The ragtune command through its real interface: a subprocess, exit codes, stdout/stderr discipline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import REPO, write

DEMO_DOCS = REPO / "examples" / "docs"


def ragtune(home: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ragtune.cli.main", "--home", str(home), *args],
        capture_output=True, text=True, timeout=600, cwd=cwd,
    )


def assert_user_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr  # one line, no traceback
    assert lines[0].startswith("ragtune: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def test_a_missing_path_is_a_one_line_user_error(home, tmp_path):
    assert_user_error(ragtune(home, "ingest", str(tmp_path / "missing"), "--json"), "missing", "no such file")


def test_an_unsupported_file_is_a_user_error(home, tmp_path):
    path = write(tmp_path / "slides.pptx", "x")
    assert_user_error(ragtune(home, "ingest", str(path)), "slides.pptx", "unsupported file type", ".md")


def test_a_malformed_corpus_line_names_file_and_line(home, tmp_path):
    corpus = write(tmp_path / "c.jsonl", '{"id": "a", "text": "ok"}\n{"id": "b", "text": oops}\n')
    result = ragtune(home, "ingest", str(corpus), "--json")
    assert result.returncode == 2
    assert "ragtune: error: " in result.stderr and "c.jsonl:2: not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads(result.stdout)["failed"][0]["source"].endswith("c.jsonl")


def test_duplicate_corpus_ids_are_reported_with_both_lines(home, tmp_path):
    corpus = write(tmp_path / "c.jsonl", '{"id": "a", "text": "x"}\n{"id": "a", "text": "y"}\n')
    result = ragtune(home, "ingest", str(corpus))
    assert result.returncode == 2 and "c.jsonl:2: duplicate id 'a' (first seen on line 1)" in result.stderr


@pytest.mark.parametrize("args,fragment", [
    (["search", "   "], "query is empty"),
    (["search", "hello", "-k", "0"], "k=0: must be at least 1"),
    (["search", "hello", "--mode", "fuzzy"], "mode 'fuzzy': expected one of hybrid, bm25, dense"),
    (["search", "hello", "--where", "novalue"], "expected key=value"),
])
def test_bad_search_arguments_are_user_errors(home, args, fragment):
    assert_user_error(ragtune(home, *args), fragment)


def test_sync_needs_an_existing_folder_or_corpus(home, tmp_path):
    assert_user_error(ragtune(home, "sync", str(tmp_path / "missing")), "no such folder or corpus file")


def test_sources_keep_same_named_files_apart_and_remove_is_explicit(home, tmp_path):
    """The session that used to lose documents: x and y both hold notes.md."""
    write(tmp_path / "x" / "notes.md", "Alpha team owns the billing service.")
    write(tmp_path / "x" / "handbook.md", "Expenses need two approvals.")
    write(tmp_path / "y" / "notes.md", "Beta team owns the search cluster.")
    assert json.loads(ragtune(home, "ingest", str(tmp_path / "x"), "--json").stdout)["added"] == 2
    assert json.loads(ragtune(home, "ingest", str(tmp_path / "y"), "--json").stdout)["added"] == 1
    assert json.loads(ragtune(home, "sync", str(tmp_path / "y"), "--json").stdout)["removed"] == 0
    assert json.loads(ragtune(home, "status", "--json").stdout)["documents"] == 3
    listed = json.loads(ragtune(home, "sources", "--json").stdout)["sources"]
    assert [(s["name"], s["documents"]) for s in listed] == [("x", 2), ("y", 1)]
    assert json.loads(ragtune(home, "sources", "remove", "y", "--json").stdout)["removed"] == 1
    assert json.loads(ragtune(home, "status", "--json").stdout)["documents"] == 2
    assert_user_error(ragtune(home, "sources", "remove", "y"), "source 'y' is not in this index")


def test_status_of_an_empty_home(home):
    result = ragtune(home, "status", "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["documents"] == 0 and status["chunks"] == 0 and status["backend"] == "lancedb"
    assert "store_version" in status


@pytest.mark.slow
def test_demo_docs_ingest_search_and_sync_end_to_end(home, tmp_path):
    """The real embedder, real LanceDB, the demo corpus in md/html/pdf/txt, through the CLI."""
    import shutil

    docs = tmp_path / "docs"
    shutil.copytree(DEMO_DOCS, docs)
    ingest = ragtune(home, "ingest", str(docs), "--json")
    assert ingest.returncode == 0, ingest.stderr
    report = json.loads(ingest.stdout)
    assert report["added"] == 4 and report["failed"] == [] and report["chunks"] >= 4
    assert {"added", "updated", "removed", "unchanged", "chunks", "seconds"} <= set(report)

    search = ragtune(home, "search", "reciprocal rank fusion constant", "-k", "3", "--json")
    assert search.returncode == 0, search.stderr
    results = json.loads(search.stdout)["results"]
    assert results and results[0]["doc_id"] == "docs/retrieval.html"
    for hit in results:
        assert {"doc_id", "chunk_id", "start", "end", "score", "text"} <= set(hit)

    from ragtune import Workspace

    index = Workspace(home)
    for hit in results:  # spans point into the stored normalized document
        assert index.documents.document(hit["doc_id"]).text[hit["start"] : hit["end"]] == hit["text"]

    pdf_hit = json.loads(ragtune(home, "search", "when is fine-tuning the right choice", "--mode", "bm25",
                                 "--json").stdout)["results"]
    assert any(h["doc_id"] == "docs/rag-vs-finetuning.pdf" for h in pdf_hit)

    faq = docs / "faq.txt"
    faq.write_text(faq.read_text() + "\n\nQ: Does ragtune run offline?\nA: Yes, models ship as wheels.\n")
    (docs / "getting-started.md").unlink()
    sync = json.loads(ragtune(home, "sync", str(docs), "--json").stdout)
    assert (sync["added"], sync["updated"], sync["removed"], sync["unchanged"]) == (0, 1, 1, 2)
    status = json.loads(ragtune(home, "status", "--json").stdout)
    assert status["documents"] == 3
    (source,) = json.loads(ragtune(home, "sources", "--json").stdout)["sources"]
    assert (source["name"], source["root"], source["documents"]) == ("docs", str(docs.resolve()), 3)

    human = ragtune(home, "search", "offline models")
    assert human.returncode == 0 and "faq.txt" in human.stdout


@pytest.mark.slow
def test_eval_retrieval_reports_every_mode(tmp_path, shared_data):
    corpus_lines = (shared_data / "squad_dev_corpus.jsonl").read_text().splitlines()[:40]
    ids = {json.loads(line)["id"] for line in corpus_lines}
    qa_lines = [line for line in (shared_data / "squad_dev_qa.jsonl").read_text().splitlines()
                if set(json.loads(line)["gold_doc_ids"]) <= ids][:30]
    qa_lines.append(json.dumps({"id": "no-gold", "question": "a question without gold documents"}))
    corpus = write(tmp_path / "corpus.jsonl", "\n".join(corpus_lines))
    qa = write(tmp_path / "qa.jsonl", "\n".join(qa_lines))
    result = ragtune(tmp_path / "unused-home", "eval", "retrieval", "--corpus", str(corpus), "--qa", str(qa), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["evaluated"] == 30 and data["skipped_no_gold"] == 1
    for mode in ("bm25", "dense", "hybrid"):
        scores = data["modes"][mode]
        assert set(scores) >= {"recall@1", "recall@5", "recall@10", "mrr", "ndcg@10", "p50_ms"}
        assert 0.5 <= scores["ndcg@10"] <= 1.0 and scores["recall@10"] >= scores["recall@1"]
    assert not (tmp_path / "unused-home").exists()  # eval uses a temporary home


@pytest.mark.slow
def test_eval_answers_on_behaviour_items_reports_metrics_with_cis(tmp_path, shared_data):
    qa = write(tmp_path / "e2e.jsonl", "\n".join((shared_data / "e2e_dev.jsonl").read_text().splitlines()[:4]))
    result = ragtune(tmp_path / "home", "eval", "answers", "--qa", str(qa), "--condition", "few_shot",
                     "--shots", "2", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["n"] == 4 and len(data["items"]) == 4
    for name in ("exact_match", "json_valid", "field_accuracy"):
        metric = data["metrics"][name]
        assert 0 <= metric["value"] <= 1 and metric["ci95"][0] <= metric["value"] <= metric["ci95"][1]
    assert (tmp_path / "home" / "runs" / data["run_id"] / "items.jsonl").exists()


def test_diagnose_writes_an_html_report_and_names_it_in_the_json(tmp_path, monkeypatch):
    """Fast: a stub OpenAI-compatible server on 127.0.0.1 is the model, so nothing is loaded."""
    from ragtune.testing.openai_stub import OpenAIStubServer

    rows = [{"id": f"e{i}", "input": f"Cafe {i} in the centre.", "output": json.dumps({"name": f"Cafe {i}"})}
            for i in range(4)]
    qa = write(tmp_path / "e2e.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    report = tmp_path / "out" / "report.html"
    with OpenAIStubServer(lambda messages: "<b>not json</b>") as server:
        monkeypatch.setenv("RAGTUNE_BASE_URL", server.base_url)
        monkeypatch.setenv("RAGTUNE_MODEL", server.model)
        result = ragtune(tmp_path / "home", "diagnose", "--qa", str(qa), "--report", str(report), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["verdict"] == "finetune" and data["report"] == str(report)
    document = report.read_text()
    assert '<span class="verdict">finetune</span>' in document and "&lt;b&gt;not json&lt;/b&gt;" in document
    assert list((tmp_path / "home" / "runs").glob("diagnose-*.json")), "the JSON result is still saved"


def test_diagnose_report_path_that_is_a_folder_is_a_user_error(tmp_path):
    qa = write(tmp_path / "e.jsonl", json.dumps({"id": "e", "input": "x", "output": "y"}) + "\n")
    assert_user_error(ragtune(tmp_path / "home", "diagnose", "--qa", str(qa), "--report", str(tmp_path), "--json"),
                      str(tmp_path), "is a folder")


@pytest.mark.slow
def test_diagnose_reports_a_verdict_with_evidence_and_cis(tmp_path):
    eval_dir = REPO / "examples" / "eval"
    result = ragtune(tmp_path / "home", "diagnose", "--qa", str(eval_dir / "memos_qa.jsonl"), "--corpus",
                     str(eval_dir / "memos_corpus.jsonl"), "--limit", "8", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["verdict"] in ("prompt", "rag", "finetune", "both") and isinstance(data["evidence"], list)
    for condition in ("closed_book", "few_shot", "oracle", "oracle+few_shot", "retrieval"):
        assert {"value", "score", "ci95", "n"} <= set(data["conditions"][condition])  # score: the 0.1 alias
    assert Path(data["report"]).exists() and data["evidence"]
