"""A workspace on PostgreSQL: evaluation indexes stay out of the main index, and retrieval scores as on Lance."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from tests.conftest import write

from ragtune import Workspace
from ragtune.components.documents import corpus_index
from ragtune.config import RetrievalConfig, Settings
from ragtune.testing import FakeEmbedder

pytestmark = pytest.mark.postgres


def schemas(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'ragtune%'")}


def squad_subset(shared_data: Path, tmp_path: Path, passages: int = 150) -> tuple[Path, Path]:
    lines = (shared_data / "squad_dev_corpus.jsonl").read_text().splitlines()[:passages]
    ids = {json.loads(line)["id"] for line in lines}
    qa = [line for line in (shared_data / "squad_dev_qa.jsonl").read_text().splitlines()
          if set(json.loads(line)["gold_doc_ids"]) <= ids][:60]
    corpus = write(tmp_path / "corpus.jsonl", "\n".join(lines) + "\n")
    return corpus, write(tmp_path / "qa.jsonl", "\n".join(qa) + "\n")


def test_retrieval_eval_scores_alike_on_both_backends_and_leaves_no_index_behind(postgres_url, tmp_path,
                                                                                 shared_data):
    corpus, qa = squad_subset(shared_data, tmp_path)
    embedder = FakeEmbedder()
    lance = Workspace(settings=Settings(home=tmp_path / "lance"), embedder=embedder).evaluation.retrieval(corpus, qa)
    pg_settings = Settings(home=tmp_path / "pg", store=postgres_url)
    workspace = Workspace(settings=pg_settings, embedder=embedder)
    workspace.documents.ingest([write(tmp_path / "docs" / "main.md", "# Main\n\nthe main index\n")])
    exact = workspace.evaluation.retrieval(corpus, qa)
    native = Workspace(settings=replace(pg_settings, retrieval=RetrievalConfig(exact_max_chunks=0)),
                       embedder=embedder).evaluation.retrieval(corpus, qa)
    assert lance.evaluated == exact.evaluated == native.evaluated == 60
    for mode in ("bm25", "dense", "hybrid"):
        want = lance.modes[mode].to_json()
        got = exact.modes[mode].to_json()  # the same in-memory search over chunks read from PostgreSQL
        assert {k: v for k, v in got.items() if "ms" not in k} == {k: v for k, v in want.items() if "ms" not in k}
    # SQL BM25 is the same BM25 (a tie may order differently); HNSW is approximate
    assert native.modes["bm25"].to_json()["ndcg@10"] == pytest.approx(lance.modes["bm25"].to_json()["ndcg@10"],
                                                                      abs=0.01)
    assert native.modes["dense"].to_json()["ndcg@10"] == pytest.approx(lance.modes["dense"].to_json()["ndcg@10"],
                                                                       abs=0.03)
    # each throwaway index was dropped; the main one never touched
    assert schemas(postgres_url) == {"ragtune"} and workspace.documents.store.counts() == (1, 1)
    workspace.documents.store.close()


def test_an_evaluation_corpus_is_indexed_beside_the_main_index_not_into_it(postgres_url, tmp_path):
    settings = Settings(home=tmp_path / "home", store=postgres_url)
    main = Workspace(settings=settings, embedder=FakeEmbedder())
    main.documents.ingest([write(tmp_path / "docs" / "a.md", "# A\n\nthe main index\n")])
    corpus = write(tmp_path / "c.jsonl", '{"id": "x", "text": "an eval passage"}\n{"id": "y", "text": "another"}\n')
    cached = corpus_index(settings, FakeEmbedder(), corpus)
    assert cached.store.counts()[0] == 2 and main.documents.store.counts()[0] == 1
    assert len(schemas(postgres_url)) == 2
    cached.store.close()
    main.documents.store.close()
