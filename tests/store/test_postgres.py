"""PostgreSQL backend: what is specific to it (the shared behaviour is in test_conformance.py) — BM25 in SQL ranks
as ragtune's in-memory BM25 does, dense search as exact cosine, access groups inside SQL, schema and settings."""

from __future__ import annotations

import json

import numpy as np
import psycopg
import pytest
from tests.store.conformance import DIM, document, put, vectors_for

from ragtune.components.documents import DocumentIndex
from ragtune.config import RetrievalConfig, Settings
from ragtune.errors import ConfigError, IndexSchemaError, StoreError, VersionCollectedError
from ragtune.retrieve.lexical import LexicalIndex
from ragtune.retrieve.ranking import cosine_scores, top_k
from ragtune.retrieve.searcher import Searcher
from ragtune.store.factory import open_store
from ragtune.store.lance import LanceStore
from ragtune.store.postgres import PostgresStore
from ragtune.testing import FakeEmbedder
from ragtune.text import analyze
from ragtune.types import Filters

pytestmark = pytest.mark.postgres


@pytest.fixture
def store(postgres_url):
    store = PostgresStore(postgres_url, "test-embedder", DIM)
    yield store
    store.close()


def same_ranking(got: list[tuple[str, float]], want: list[tuple[str, float]], tol: float = 1e-4) -> None:
    """Equal scores position by position, and equal ids wherever the score is not tied with a neighbour (ties
    may come in another order; the cut at k may fall inside a tie)."""
    assert len(got) == len(want)
    for i, ((gid, gs), (wid, ws)) in enumerate(zip(got, want)):
        assert gs == pytest.approx(ws, rel=tol, abs=tol), (i, got, want)
        tied = any(abs(ws - other) <= tol * max(1.0, abs(ws)) for j, (_, other) in enumerate(want) if j != i)
        if not tied:
            assert gid == wid, (i, got, want)


def in_memory_bm25(table, query: str, k: int) -> list[tuple[str, float]]:
    index = LexicalIndex.build(table["terms"])
    scores = index.scores(analyze(query))
    rows = top_k(scores, k, positive_only=True)
    chunk_ids = table["chunk_id"].to_pylist()
    return [(chunk_ids[r], float(scores[r])) for r in rows]


def in_memory_dense(table, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
    vectors = table["vector"].combine_chunks().flatten().to_numpy().reshape(table.num_rows, -1)
    scores = cosine_scores(np.ascontiguousarray(vectors, dtype=np.float32), vector)
    chunk_ids = table["chunk_id"].to_pylist()
    return [(chunk_ids[r], float(scores[r])) for r in top_k(scores, k)]


# ---- ranking parity ------------------------------------------------------------------------------------------


def test_sql_bm25_scores_exactly_as_the_in_memory_index(store):
    docs = [document("a", "apples apples pears|pears only here|apples", lang="en"), document("b", "a long text "
            "about apples and many other fruits such as pears plums and cherries"),
            document("c", "apples and pears in an old version"), document("d", "apples|plums plums plums", lang="en")]
    put(store, *docs)
    put(store, document("c", "cherries and apples now", fingerprint="fp2"))  # superseded rows must not count
    table = store.chunk_columns()
    for query in ("apples", "pears plums", "apples pears cherries", "apples apples", "unknownword", "the and"):
        got = [(s.chunk_id, s.score) for s in store.search_lexical(query, 10, Filters())]
        same_ranking(got, in_memory_bm25(table, query, 10))
        # a filter picks which chunks may be returned; it changes no score (N, lengths and df stay the corpus's)
        english = {c for c, kv in zip(table["chunk_id"].to_pylist(), table["meta_kv"].to_pylist()) if kv}
        got = [(s.chunk_id, s.score) for s in store.search_lexical(query, 10, Filters(metadata={"lang": "en"}))]
        same_ranking(got, [(c, score) for c, score in in_memory_bm25(table, query, 100) if c in english][:10])


def test_sql_bm25_agrees_with_an_independent_bm25(store):
    """bm25s (Lù 2024) with the Lucene method is the reference the in-memory index is tested against too (it
    drops the textbook numerator's constant (k1 + 1) factor, as Lucene does)."""
    bm25s = pytest.importorskip("bm25s")
    texts = ["apples and pears", "pears pears plums", "cherries", "apples apples apples and more apples",
             "a text about plums and apples and cherries"]
    put(store, *[document(f"d{i}", t) for i, t in enumerate(texts)])
    table = store.chunk_columns()
    retriever = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
    retriever.index([list(t) for t in table["terms"].to_pylist()], show_progress=False)
    for query in ("apples", "plums cherries", "pears apples"):
        reference = retriever.get_scores(list(dict.fromkeys(analyze(query)))) * (1.2 + 1)
        ids = table["chunk_id"].to_pylist()
        want = {ids[i]: float(s) for i, s in enumerate(reference) if s > 0}
        got = {s.chunk_id: s.score for s in store.search_lexical(query, 10, Filters())}
        assert got.keys() == want.keys() and all(got[c] == pytest.approx(want[c], rel=1e-5) for c in got)


def test_both_backends_rank_a_real_corpus_alike(postgres_url, tmp_path, shared_data):
    """The shared SQuAD dev corpus (421 passages) with the fake embedder in both backends: the PostgreSQL store's
    SQL BM25 and exact dense search give the rankings LanceDB + ragtune's in-memory search give, up to ties; its
    HNSW index finds nearly all of the exact top 10."""
    corpus = shared_data / "squad_dev_corpus.jsonl"
    questions = [json.loads(line)["question"] for line in (shared_data / "squad_dev_qa.jsonl").open()][:40]
    embedder = FakeEmbedder()
    lance = DocumentIndex(Settings(home=tmp_path / "lance"), embedder)
    pg = DocumentIndex(Settings(home=tmp_path / "pg", store=postgres_url), embedder)
    lance.ingest([corpus])
    pg.ingest([corpus])
    exact = Searcher(lance.store, embedder, RetrievalConfig())
    assert not lance.store.uses_native_indexes() and not pg.store.uses_native_indexes()
    recall = []
    for phase in ("exact", "hnsw"):
        if phase == "hnsw":
            pg.store.ensure_indexes(0)
            assert pg.store.uses_native_indexes()
        for question in questions:
            want = [(h.chunk.chunk_id, h.score) for h in exact.search(question, mode="bm25", k=10).hits]
            got = [(s.chunk_id, s.score) for s in pg.store.search_lexical(question, 10, Filters())]
            same_ranking(got, want)
            vector = embedder.embed([question])[0]
            want = [(h.chunk.chunk_id, h.score) for h in exact.search(question, mode="dense", k=10).hits]
            got = [(s.chunk_id, s.score) for s in pg.store.search_dense(vector, 10, Filters())]
            if phase == "exact":
                same_ranking(got, want, tol=1e-5)
            else:
                recall.append(len({c for c, _ in got} & {c for c, _ in want}) / 10)
    assert np.mean(recall) >= 0.9, recall
    pg.store.close()


def test_the_hnsw_path_fills_its_top_k_under_a_restrictive_filter(postgres_url):
    """30 matching chunks among 2,000: through the HNSW index (the planner is kept off sequential and bitmap scans,
    which it would choose on a table this small), a filtered dense search still returns the exact top 20."""
    database = postgres_url.rsplit("/", 1)[1]
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE {database} SET enable_seqscan = off")
        conn.execute(f"ALTER DATABASE {database} SET enable_bitmapscan = off")
    store = PostgresStore(postgres_url, "test-embedder", DIM)
    docs = [document(f"other{i:04d}", f"other text {i}", lang="xx") for i in range(2000)]
    docs += [document(f"keep{i:02d}", f"kept text {i}", lang="en") for i in range(30)]
    put(store, *docs)
    store.ensure_indexes(0)
    only = Filters(metadata={"lang": "en"})
    probe = vectors_for(docs[0][1])[0]
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("SET search_path TO ragtune, public")
        plan = " ".join(r[0] for r in conn.execute(
            "EXPLAIN SELECT chunk_id FROM chunks c WHERE c.valid_to IS NULL AND c.meta_kv @> %s::text[] "
            "ORDER BY c.embedding <=> %s::vector LIMIT 20", (['["lang","en"]'], str(probe.tolist()))))
    assert "chunks_hnsw" in plan, plan
    table = store.chunk_columns()
    keep = [i for i, c in enumerate(table["chunk_id"].to_pylist()) if c.startswith("keep")]
    want = in_memory_dense(table.take(keep), probe, 20)
    got = [(s.chunk_id, s.score) for s in store.search_dense(probe, 20, only)]
    same_ranking(got, want, tol=1e-5)
    store.close()


# ---- schema, versions, settings ------------------------------------------------------------------------------


def test_an_index_built_with_another_embedder_is_refused(postgres_url):
    PostgresStore(postgres_url, "embedder-a", DIM).close()
    with pytest.raises(StoreError, match="built with embedder 'embedder-a'"):
        PostgresStore(postgres_url, "embedder-b", DIM)


def test_migrations_are_recorded_and_an_index_from_a_newer_ragtune_is_refused(postgres_url):
    PostgresStore(postgres_url, "x", DIM).close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM ragtune.migrations")] == ["m001_tables"]
        conn.execute("INSERT INTO ragtune.migrations VALUES ('m999_future', now())")
    with pytest.raises(IndexSchemaError, match="m999_future.*newer ragtune"):
        PostgresStore(postgres_url, "x", DIM)


def test_namespaces_are_separate_indexes_in_one_database(postgres_url):
    main = PostgresStore(postgres_url, "x", DIM)
    other = PostgresStore(postgres_url, "x", DIM, namespace="eval_abc")
    put(main, document("a", "one"))
    assert other.counts() == (0, 0) and main.counts() == (1, 1)
    assert other.schema == "ragtune_eval_abc"
    main.close()
    other.close()


def test_a_pinned_store_is_read_only_and_unknown_versions_are_refused(store, postgres_url):
    put(store, document("a", "one"))
    pinned = PostgresStore(postgres_url, "test-embedder", DIM, version=store.version())
    with pytest.raises(StoreError, match="read-only"):
        put(pinned, document("b", "two"))
    pinned.close()
    with pytest.raises(VersionCollectedError, match="the newest version is 1"):
        PostgresStore(postgres_url, "test-embedder", DIM, version=99)


def test_a_role_that_may_not_install_pgvector_is_told_what_to_ask_for_and_works_once_it_is(postgres_url):
    """docs/deploy.md's setup: an ordinary role with CONNECT and CREATE on the database; a superuser installs the
    extension."""
    database = postgres_url.rsplit("/", 1)[1]
    role = f"app_{database}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"GRANT CONNECT, CREATE ON DATABASE {database} TO {role}")
    as_role = postgres_url.replace("postgres@", f"{role}@")
    with pytest.raises(StoreError, match="ask an administrator to run `CREATE EXTENSION vector;`"):
        PostgresStore(as_role, "x", DIM)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION vector")
    store = PostgresStore(as_role, "x", DIM)
    put(store, document("a", "apples"))
    store.ensure_indexes(0)
    assert [s.chunk_id for s in store.search_lexical("apples", 5, Filters())] == ["a#fp-0"]
    store.close()


def test_a_server_that_is_not_there_is_a_clear_error():
    with pytest.raises(StoreError, match=r"cannot connect to postgresql://u:\*\*\*@127.0.0.1:1/db"):
        PostgresStore("postgresql://u:secret@127.0.0.1:1/db?connect_timeout=2", "x", DIM)


def test_settings_accept_a_postgresql_url_and_name_the_valid_choices():
    assert Settings(store="postgresql://u:p@db:5432/rag").store.startswith("postgresql://")
    assert Settings(store="postgres://db/rag?sslmode=require").store
    for bad, fragment in (("sqlite", "expected 'lance'"), ("postgresql://db:port/x", "not a valid URL"),
                          ("postgresql:///x", "name the server")):
        with pytest.raises(ConfigError, match=fragment):
            Settings(store=bad)
    with pytest.raises(ConfigError) as info:
        Settings(store="postgresql://u:secret@db:nope/x")
    assert "secret" not in str(info.value)


def test_open_store_picks_postgres_from_the_url(postgres_url, tmp_path):
    store = open_store(Settings(home=tmp_path, store=postgres_url), "x", DIM)
    assert isinstance(store, PostgresStore) and store.backend == "postgresql"
    info = store.describe()
    assert info["server"].startswith("PostgreSQL 18") and "pgvector 0.8" in info["server"]
    store.close()
    assert isinstance(open_store(Settings(home=tmp_path), "x", DIM), LanceStore)


def test_a_nul_character_in_an_id_or_metadata_is_a_clear_error_not_a_half_write(store):
    record, chunks = document("a", "apples", note="x\x00y")
    with pytest.raises(StoreError, match=r"document 'a'.*NUL character"):
        put(store, (record, chunks))
    assert store.counts() == (0, 0) and store.version() == 0


def test_two_machines_ingesting_into_one_index_both_land(postgres_url, tmp_path):
    """Two homes (two machines) share the database: their writers queue on the index's lock instead of failing
    (the home folder's lock only guards one home) or overwriting each other."""
    import threading

    from tests.conftest import write

    folders = []
    for name in ("left", "right"):
        for i in range(20):
            write(tmp_path / name / f"doc{i}.md", f"# {name} {i}\n\nshared words of {name} document {i}\n")
        folders.append(tmp_path / name)
    indexes = [DocumentIndex(Settings(home=tmp_path / f"home-{n}", store=postgres_url), FakeEmbedder())
               for n in ("a", "b")]
    errors: list[BaseException] = []

    def ingest(index: DocumentIndex, folder) -> None:
        try:
            for _ in range(3):  # the second and third runs find everything unchanged
                index.ingest([folder])
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=ingest, args=pair) for pair in zip(indexes, folders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    store = indexes[0].store
    assert store.counts() == (40, 40) and store.write_state().inconsistent == set()
    assert {s.name for s in store.sources()} == {"left", "right"}
    assert store.version() == 2  # one version per batch that changed something, none for unchanged runs
    for index in indexes:
        index.store.close()


def test_chunks_left_without_a_live_row_by_a_hand_edit_are_orphans_that_removing_their_document_clears(store):
    put(store, document("a", "one|two"), document("b", "three"))
    with store._cursor() as cur:  # a document row ended behind the store's back
        cur.execute("UPDATE documents SET valid_to = 1 WHERE doc_id = 'a'")
    state = store.write_state()
    assert state.orphans == {"a": 2} and set(state.fingerprints) == {"b"} and state.inconsistent == set()
    assert store.write_state(["b"]).orphans == {}
    store.remove_documents(["a"])
    assert store.write_state().orphans == {} and store.counts() == (1, 1)
