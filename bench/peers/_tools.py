"""One small adapter per tool measured in ``bench/peers/``: ragtune, LlamaIndex, Haystack 2 and plain bm25s.

Every adapter answers the same four questions, so the benchmark scripts never branch on the tool:

- ``load()``: load and warm up the embedding model (a one-time process cost, never inside a measurement);
- ``build(docs)``: index ``Doc``s from scratch (chunk, embed, store) — the ingest time;
- ``search(query, mode, k)``: the tool's own retrieval call, returning ``Hit``s (document id, chunk text);
- ``update(docs)`` / ``stored()``: the tool's documented path for changed documents, and every chunk its stores
  hold afterwards (to count stale chunks).

Each peer gets its best documented configuration for this task (local MiniLM, CPU, no LLM); ``config``
describes it in the results. Frameworks are imported lazily: a worker process only imports the tool it runs, so
its peak memory is that tool's alone. Every adapter embeds with the same all-MiniLM-L6-v2 folder that ragtune's
default embedder loads (``ragtune.models.embedder.default_embedder_path()``), never a hub download.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Protocol

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")  # Haystack would post usage events otherwise

# Chunk budget shared by every tool that chunks: ragtune's default (ChunkingConfig: 200 embedder tokens, 32 of
# overlap). all-MiniLM-L6-v2 reads at most 256 word pieces, so a bigger chunk would be cut off when embedded.
CHUNK_TOKENS = 200
CHUNK_OVERLAP = 32
# Haystack's DocumentSplitter counts words, not model tokens (its token mode needs a tiktoken download); 150
# words is about 200 MiniLM word pieces on these passages.
HAYSTACK_SPLIT_WORDS = 150
HAYSTACK_SPLIT_OVERLAP = 24
# How deep each retriever's list goes before fusion: ragtune's RetrievalConfig.candidates, given to the peers too.
FUSION_DEPTH = 100
EMBED_BATCH = 64  # ragtune's ingest batch size; the peers' defaults are smaller (LlamaIndex 10, Haystack 32)


@dataclass(frozen=True)
class Doc:
    id: str
    text: str


@dataclass(frozen=True)
class Hit:
    doc_id: str
    text: str


class Tool(Protocol):  # VectorCache is defined below; annotations are strings (from __future__)
    name: str
    modes: tuple[str, ...]
    packages: tuple[str, ...]

    def config(self) -> dict: ...
    def load(self) -> None: ...
    def build(self, docs: list[Doc], cache: VectorCache | None = None) -> dict: ...
    def search(self, query: str, mode: str, k: int) -> list[Hit]: ...
    def embed_query(self, query: str) -> None: ...


class MissingPeer(RuntimeError):
    """A peer framework is not installed in this environment."""


def version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def require(*dists: str) -> None:
    missing = [d for d in dists if version(d) is None]
    if missing:
        raise MissingPeer(
            f"not installed: {', '.join(missing)} — run `make bench-peers` (it builds .venv-peers with "
            "'.[dev,peers-llamaindex,peers-haystack]'), or pass --skip-missing to leave this tool out"
        )


def model_path() -> Path:
    from ragtune.models.embedder import default_embedder_path

    return default_embedder_path()


_WS = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u200e\u200f\u2028\u2029\ufeff]")


def squash(text: str) -> str:
    """The form in which a stored chunk is tested for still being part of its document's text: NFKC, control
    and zero-width characters dropped, whitespace collapsed. ragtune stores its text normalized that way
    (``ragtune.ingest.normalize``: ``km²`` becomes ``km2``), so the test applies it to every tool alike."""
    return _WS.sub(" ", _CONTROL.sub("", unicodedata.normalize("NFKC", text))).strip()


FLOAT_MODEL = "all-MiniLM-L6-v2"  # the peers embed with the float model through sentence-transformers


class VectorCache:
    """MiniLM vectors of texts embedded before, keyed by the SHA-256 of the exact text, kept on disk
    (``vectors.npy`` + ``keys.txt`` under ``--cache``). The freshness benchmark builds three 10,000-document
    indexes; with the cache each distinct text is embedded once across tools and runs. Only first builds read it:
    every update is embedded by the tool's own model call."""

    def __init__(self, folder: Path) -> None:
        import numpy as np

        self.folder = folder
        self.vectors: dict[str, np.ndarray] = {}
        keys, arrays = folder / "keys.txt", folder / "vectors.npy"
        if keys.exists() and arrays.exists():
            matrix = np.load(arrays)
            self.vectors = dict(zip(keys.read_text().split(), matrix))
        self.hits = self.misses = 0

    @staticmethod
    def key(text: str) -> str:
        import hashlib

        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def lookup(self, texts: list[str], embed) -> list:
        """Vectors of ``texts``: cached ones from the cache, the others from ``embed(missing texts)``."""
        keys = [self.key(t) for t in texts]
        missing = sorted({k: t for k, t in zip(keys, texts) if k not in self.vectors}.items())
        if missing:
            for (k, _), vector in zip(missing, embed([t for _, t in missing])):
                self.vectors[k] = vector
        self.misses += len(missing)
        self.hits += len(texts) - len(missing)
        return [self.vectors[k] for k in keys]

    def save(self) -> None:
        import numpy as np

        self.folder.mkdir(parents=True, exist_ok=True)
        keys = list(self.vectors)
        np.save(self.folder / "vectors.npy.tmp.npy", np.asarray([self.vectors[k] for k in keys], dtype=np.float32))
        (self.folder / "keys.txt.tmp").write_text("\n".join(keys) + "\n")
        (self.folder / "vectors.npy.tmp.npy").replace(self.folder / "vectors.npy")
        (self.folder / "keys.txt.tmp").replace(self.folder / "keys.txt")


# ---- ragtune ------------------------------------------------------------------------------------------------


class TimedEmbedder:
    """ragtune's embedder with the seconds spent inside ``embed`` added up: the ingest profile."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.model_id, self.dim = inner.model_id, inner.dim
        self.seconds = 0.0
        self.cache: VectorCache | None = None  # set during a freshness build only

    def embed(self, texts, batch_size: int = 64):
        import numpy as np

        t = time.perf_counter()
        try:
            if self.cache is not None and len(texts):
                vectors = self.cache.lookup(list(texts), lambda m: self.inner.embed(m, batch_size=batch_size))
                return np.asarray(vectors, dtype=np.float32)
            return self.inner.embed(texts, batch_size=batch_size)
        finally:
            self.seconds += time.perf_counter() - t

    def count_tokens(self, texts):
        return self.inner.count_tokens(texts)

    @property
    def max_tokens(self) -> int:
        return self.inner.max_tokens


class Ragtune:
    """ragtune's in-process Python API: ``Workspace(home).documents`` — ingest a folder of one ``.txt`` file per
    document (doc id = ``<source>/<file>``), search with ``documents.search``, update with ``documents.sync``."""

    name = "ragtune"
    modes = ("bm25", "dense", "hybrid")
    packages = ("ragtune", "lancedb", "sentence-transformers")
    SOURCE = "corpus"

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="ragtune-peers-"))
        self.folder = self.tmp / self.SOURCE
        self.workspace = None
        self.timings: dict[str, list[float]] = {}

    def config(self) -> dict:
        from ragtune.config import Settings
        from ragtune.models.embedder import load_embedder

        settings = Settings(home=self.tmp / "home")
        embedder = load_embedder("default", None, settings.embedder_backend)
        runs = f" ({embedder.model_file.name})" if hasattr(embedder, "model_file") else ""
        return {
            "api": "Workspace(home).documents: ingest([folder]) / search(q, mode, k) / sync(folder)",
            "chunking": f"{settings.chunking.target_tokens} embedder tokens, overlap {settings.chunking.overlap_tokens}",
            "embedding": f"load_embedder(backend={settings.embedder_backend!r}) on a CPU: "
                         f"{embedder.model_id}{runs}, batch size 64",
            "fusion": f"{settings.retrieval.fusion} over the top {settings.retrieval.candidates} of each list",
            "store": "LanceDB (default), exact in-memory search below "
                     f"{settings.retrieval.exact_max_chunks} chunks",
        }

    def load(self) -> None:
        import lancedb  # noqa: F401 — imported by the first store access otherwise, inside the ingest timing

        from ragtune import Workspace
        from ragtune.models.embedder import load_embedder

        inner = load_embedder("default", None, "auto")  # what a user gets: the setting's default backend
        inner.warm_up()  # every session a query and a document use, as `ragtune serve` does at start
        inner.embed(["warm up the model", "a second, slightly longer text"])
        inner.count_tokens(["warm up the tokenizer"])
        self.embedder = TimedEmbedder(inner)
        self.workspace = Workspace(self.tmp / "home", embedder=self.embedder)

    def write_files(self, docs: list[Doc]) -> list[Path]:
        paths = []
        for doc in docs:
            path = self.folder / f"{doc.id}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(doc.text, encoding="utf-8")
            paths.append(path)
        return paths

    def build(self, docs: list[Doc], cache: VectorCache | None = None) -> dict:
        """Writing the files is setup (they are the user's documents); ``ingest`` is timed by the caller."""
        self.write_files(docs)
        self.embedder.seconds = 0.0
        self.embedder.cache = cache
        try:
            report = self.workspace.documents.ingest([self.folder], source=self.SOURCE)
        finally:
            self.embedder.cache = None
        return {"chunks": report.chunks, "embed_seconds": self.embedder.seconds, "report_seconds": report.seconds}

    @property
    def embedder_id(self) -> str:
        """The model id of ragtune's default embedder (``auto``: ``all-MiniLM-L6-v2+onnx-int8`` on a CPU)."""
        return self.embedder.model_id

    def doc_id(self, stored_id: str) -> str:
        return stored_id.split("/", 1)[-1].removesuffix(".txt")

    def search(self, query: str, mode: str, k: int) -> list[Hit]:
        result = self.workspace.documents.search(query, mode=mode, k=k)
        self.last_timings = dict(result.timings_ms)
        for stage, ms in result.timings_ms.items():
            self.timings.setdefault(f"{mode}.{stage}", []).append(ms)
        return [Hit(self.doc_id(h.chunk.doc_id), h.chunk.text) for h in result.hits]

    def embed_query(self, query: str) -> None:
        self.embedder.inner.embed([query])

    # freshness
    def update(self, docs: list[Doc], path: str) -> dict:
        """``sync``: rewrite the changed files, then mirror the folder (hashes every file, re-indexes the changed
        ones). ``upload``: index each changed file alone with ``ingest_folder_file``, the path behind the HTTP
        upload route (``POST /v1/documents``)."""
        paths = self.write_files(docs)
        documents = self.workspace.documents
        self.embedder.seconds = 0.0  # the profile: how much of the update is the model embedding the new chunks
        if path == "sync":
            report = documents.sync(self.folder, source=self.SOURCE)
            return {"updated": report.updated, "unchanged": report.unchanged, "embedded": report.embedded,
                    "embed_s": self.embedder.seconds}
        updated = 0
        for file in paths:
            updated += documents.ingest_folder_file(self.folder, file, self.SOURCE).updated
        return {"updated": updated, "embed_s": self.embedder.seconds}

    def stored(self) -> list[Hit]:
        store = self.workspace.documents.store
        columns = store.chunk_columns()
        return [Hit(self.doc_id(d), t) for d, t in zip(columns["doc_id"].to_pylist(), columns["text"].to_pylist())]


class RagtuneApi(Ragtune):
    """ragtune's HTTP API: a ``ragtune serve`` subprocess (``bench/serve.py``'s ``Server``: one worker on
    127.0.0.1) over the home the in-process build made, called with httpx (one keep-alive client, an admin key).

    The build writes the corpus into ``RAGTUNE_HOME/uploads/<source>/`` and ingests that folder in-process under
    that source name (cached vectors, as ``Ragtune``), so the documents are the ones the upload route replaces:
    ``POST /v1/documents`` of a changed file under the same name and source answers 200 ``updated``. ``start``
    (after the build, outside its time) creates the key, starts the server and warms it up: one search per mode
    and one re-upload of unchanged bytes; from then on the in-process workspace writes nothing (it only reads the
    store, for ``stored()``). Updates are ``POST /v1/documents`` per changed file, searches ``POST /v1/search``.
    The search response carries no stage timings, so the profile is the server's own time per route (the sums
    of its ``/metrics`` histogram) over each update and first search."""

    name = "ragtune-api"
    packages = ("ragtune", "lancedb", "httpx", "uvicorn")

    def __init__(self) -> None:
        super().__init__()
        self.folder = self.tmp / "home" / "uploads" / self.SOURCE  # the folder the upload route writes to
        self.server = None
        self.http = None
        self._before: dict[str, tuple[float, int]] = {}
        self._search_stages: dict[str, float] = {}

    def config(self) -> dict:
        return {**super().config(),
                "api": "ragtune serve (1 worker, 127.0.0.1), an admin key, httpx keep-alive client: "
                       "POST /v1/documents (multipart file, source) per changed file, POST /v1/search; the corpus "
                       "ingested in-process from RAGTUNE_HOME/uploads/<source>/ before the server starts"}

    def start(self, unchanged: Doc) -> dict:
        """After the build: create a key, start the server, warm it up (``unchanged``: a corpus document)."""
        import atexit

        import httpx
        from serve import Server  # bench/serve.py: freshness.py puts bench/ on sys.path

        started = time.perf_counter()
        home = self.tmp / "home"
        key = self.workspace.keys.create(admin=True, name="freshness").key  # before the server: no write after
        self.server = Server(home, 1, self.tmp / "server.log")
        atexit.register(self.close)
        self.http = httpx.Client(base_url=self.server.base, headers={"Authorization": f"Bearer {key}"},
                                 timeout=httpx.Timeout(600.0, connect=30.0))
        warm = {}
        for mode in ("hybrid", "bm25", "dense"):  # the first search loads the model and the exact index
            t = time.perf_counter()
            self.search("warm up the server", mode, 10)
            warm[f"first_{mode}_search_s"] = time.perf_counter() - t
        t = time.perf_counter()
        status = self._upload(unchanged)  # the same bytes again: 200 unchanged, the upload path warmed up
        warm["unchanged_upload_s"] = time.perf_counter() - t
        if not status.get("unchanged"):
            raise RuntimeError(f"ragtune-api: re-uploading an unchanged corpus file gave {status}")
        return {"startup_s": self.server.startup_s, **warm,
                "start_and_warm_up_s": time.perf_counter() - started}

    def close(self) -> None:
        if self.http is not None:
            self.http.close()
            self.http = None
        if self.server is not None:
            self.server.stop()
            self.server = None

    def _upload(self, doc: Doc) -> dict:
        response = self.http.post("/v1/documents", data={"source": self.SOURCE},
                                  files={"file": (f"{doc.id}.txt", doc.text.encode("utf-8"), "text/plain")})
        if response.status_code not in (200, 201):
            raise RuntimeError(f"POST /v1/documents {doc.id}: {response.status_code} {response.text[:500]}")
        return {"status": response.status_code, **response.json()}

    def search(self, query: str, mode: str, k: int) -> list[Hit]:
        response = self.http.post("/v1/search", json={"query": query, "mode": mode, "k": k})
        if response.status_code != 200:
            raise RuntimeError(f"POST /v1/search: {response.status_code} {response.text[:500]}")
        body = response.json()
        self._search_stages = dict(body.get("timings_ms") or {})  # the server's own stages of this search
        return [Hit(self.doc_id(h["doc_id"]), h["text"]) for h in body["results"]]

    def embed_query(self, query: str) -> None:
        raise NotImplementedError("ragtune-api measures freshness only")

    # freshness
    def _route_seconds(self) -> dict[str, tuple[float, int]]:
        """The server's own time per route so far: (sum of seconds, requests) from its ``/metrics``."""
        text = self.http.get("/metrics").text
        found: dict[str, list[float]] = {}
        for line in text.splitlines():
            match = _ROUTE_METRIC.match(line)
            if match:
                found.setdefault(match["route"], [0.0, 0])[match["kind"] == "count"] = float(match["value"])
        return {route: (s, int(n)) for route, (s, n) in found.items()}

    def before_update(self) -> None:
        """Called before the timed window: where the server's per-route totals stand."""
        self._before = self._route_seconds()

    @property
    def last_timings(self) -> dict:
        """Read after the timed window: the server's time inside the upload and search routes since
        ``before_update`` (one search; as many uploads as changed files), in ms."""
        after = self._route_seconds()
        out = {}
        for route, label in (("/v1/documents", "upload"), ("/v1/search", "search")):
            s0, n0 = self._before.get(route, (0.0, 0))
            s1, n1 = after.get(route, (0.0, 0))
            out[f"server_{label}_ms"] = (s1 - s0) * 1000
            out[f"server_{label}_requests"] = n1 - n0
        out.update({f"search_{stage}": ms for stage, ms in self._search_stages.items()})  # the first search's
        return out

    def update(self, docs: list[Doc], path: str) -> dict:
        """``api``: one ``POST /v1/documents`` per changed file (same name, same source: an update)."""
        statuses: dict[str, int] = {}
        updated = 0
        for doc in docs:
            result = self._upload(doc)
            statuses[str(result["status"])] = statuses.get(str(result["status"]), 0) + 1
            updated += bool(result["updated"])
        return {"updated": updated, "status_counts": statuses}


_ROUTE_METRIC = re.compile(r"^ragtune_http_request_duration_seconds_(?P<kind>sum|count)"
                           r'\{route="(?P<route>[^"]*)"\} (?P<value>[0-9.eE+-]+)$')


# ---- LlamaIndex ---------------------------------------------------------------------------------------------


class LlamaIndex:
    """LlamaIndex: ``VectorStoreIndex`` (in-memory SimpleVectorStore) with ``HuggingFaceEmbedding`` on the MiniLM
    folder, ``BM25Retriever`` (llama-index-retrievers-bm25, bm25s inside, PyStemmer English) over the same nodes,
    and ``QueryFusionRetriever`` in reciprocal-rank mode with ``num_queries=1`` (no query generation, so no LLM
    is ever called; a MockLLM is passed so none is resolved either)."""

    name = "llamaindex"
    modes = ("bm25", "dense", "hybrid")
    embedder_id = FLOAT_MODEL
    packages = ("llama-index-core", "llama-index-retrievers-bm25", "llama-index-embeddings-huggingface", "bm25s")

    def __init__(self) -> None:
        require(*self.packages[:3])

    def config(self) -> dict:
        return {
            "chunking": f"SentenceSplitter(chunk_size={CHUNK_TOKENS}, chunk_overlap={CHUNK_OVERLAP}) counting MiniLM "
                        "tokens (the model's own tokenizer, as ragtune counts)",
            "embedding": f"HuggingFaceEmbedding(<MiniLM folder>, normalize=True, embed_batch_size={EMBED_BATCH}, "
                         "device=cpu)",
            "bm25": "BM25Retriever.from_defaults(docstore=index.docstore, stemmer=PyStemmer english, language=en)",
            "hybrid": f"QueryFusionRetriever([vector, bm25], mode=reciprocal_rerank, num_queries=1, "
                      f"use_async=False, llm=MockLLM()); each list {FUSION_DEPTH} deep",
            "update": "index.refresh_ref_docs(changed documents), then the retrievers made anew (BM25Retriever "
                      "rebuilt from the docstore, vector retriever and QueryFusionRetriever re-created)",
        }

    def load(self) -> None:
        from llama_index.core import Settings
        from llama_index.core.llms import MockLLM
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding
        from transformers import AutoTokenizer

        self.embed_model = HuggingFaceEmbedding(model_name=str(model_path()), device="cpu", normalize=True,
                                                embed_batch_size=EMBED_BATCH)
        self.embed_model.get_text_embedding_batch(["warm up the model", "a second text to warm up the batch path"])
        self.embed_model.get_query_embedding("warm up the query path")
        tokenizer = AutoTokenizer.from_pretrained(str(model_path()))
        self._tokenize = lambda text: tokenizer.encode(text, add_special_tokens=False)
        self._tokenize("warm up")
        Settings.llm = MockLLM()  # never called (num_queries=1); keeps LlamaIndex from resolving an OpenAI default
        Settings.embed_model = self.embed_model

    def _documents(self, docs: list[Doc]):
        from llama_index.core import Document

        return [Document(text=d.text, id_=d.id) for d in docs]

    def build(self, docs: list[Doc], cache: VectorCache | None = None) -> dict:
        from llama_index.core import StorageContext, VectorStoreIndex
        from llama_index.core.node_parser import SentenceSplitter
        from llama_index.core.schema import MetadataMode

        splitter = SentenceSplitter(chunk_size=CHUNK_TOKENS, chunk_overlap=CHUNK_OVERLAP, tokenizer=self._tokenize)
        documents = self._documents(docs)
        if cache is None:
            self.index = VectorStoreIndex.from_documents(documents, transformations=[splitter],
                                                         embed_model=self.embed_model)
        else:
            # what from_documents does, with each node's vector given up front (the index embeds only nodes
            # without one): record the document hashes refresh_ref_docs compares, split, build from the nodes
            storage = StorageContext.from_defaults()
            for doc in documents:
                storage.docstore.set_document_hash(doc.id_, doc.hash)
            nodes = splitter(documents)
            texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]
            for node, vector in zip(nodes, cache.lookup(texts, self.embed_model.get_text_embedding_batch)):
                node.embedding = [float(x) for x in vector]
            self.index = VectorStoreIndex(nodes, storage_context=storage, transformations=[splitter],
                                          embed_model=self.embed_model)
        self._retrievers()
        return {"chunks": len(self.index.docstore.docs)}

    def _retrievers(self) -> None:
        import Stemmer
        from llama_index.core.llms import MockLLM
        from llama_index.core.retrievers import QueryFusionRetriever
        from llama_index.retrievers.bm25 import BM25Retriever

        def bm25(top_k: int):
            return BM25Retriever.from_defaults(docstore=self.index.docstore, similarity_top_k=top_k,
                                               stemmer=Stemmer.Stemmer("english"), language="english")

        self.bm25_deep = bm25(FUSION_DEPTH)
        self.vector_deep = self.index.as_retriever(similarity_top_k=FUSION_DEPTH)
        self.fusion = QueryFusionRetriever([self.vector_deep, self.bm25_deep], mode="reciprocal_rerank",
                                           num_queries=1, use_async=False, llm=MockLLM(), similarity_top_k=20)
        self._single = {"bm25": bm25(20), "dense": self.index.as_retriever(similarity_top_k=20)}

    def search(self, query: str, mode: str, k: int) -> list[Hit]:
        if mode == "hybrid":
            self.fusion.similarity_top_k = k
            nodes = self.fusion.retrieve(query)
        else:
            retriever = self._single[mode]
            retriever.similarity_top_k = k
            nodes = retriever.retrieve(query)
        return [Hit(n.node.ref_doc_id, n.node.get_content()) for n in nodes]

    def embed_query(self, query: str) -> None:
        self.embed_model.get_query_embedding(query)

    # freshness
    def update(self, docs: list[Doc], path: str) -> dict:
        refreshed = self.index.refresh_ref_docs(self._documents(docs))
        if path == "refresh+retrievers":
            # retrievers made before the refresh keep serving the old state: the vector retriever does not see
            # the new nodes and BM25Retriever holds its own copy of the old ones, so all are made anew
            self._retrievers()
        return {"updated": sum(refreshed)}

    def stored(self) -> list[Hit]:
        """The docstore's nodes and, separately, the nodes the BM25 retriever still holds (its own copy)."""
        from llama_index.core.vector_stores.utils import metadata_dict_to_node

        hits = [Hit(n.ref_doc_id, n.get_content()) for n in self.index.docstore.docs.values()]
        bm25_nodes = [metadata_dict_to_node(d) for d in self.bm25_deep.corpus]
        hits += [Hit(n.ref_doc_id, n.get_content()) for n in bm25_nodes]
        return hits


# ---- Haystack 2 ---------------------------------------------------------------------------------------------


class Haystack:
    """Haystack 2 (haystack-ai): ``InMemoryDocumentStore``; ``DocumentSplitter`` → ``SentenceTransformers
    DocumentEmbedder`` → ``write_documents``; ``InMemoryBM25Retriever`` + ``SentenceTransformersTextEmbedder`` →
    ``InMemoryEmbeddingRetriever``, joined by ``DocumentJoiner(join_mode="reciprocal_rank_fusion")``. The
    sentence-transformers embedders live in the ``sentence-transformers-haystack`` integration package for
    haystack-ai 3.x. Components are called directly (each ``run``), the documented standalone use, which skips
    a Pipeline's per-run bookkeeping."""

    name = "haystack"
    modes = ("bm25", "dense", "hybrid")
    embedder_id = FLOAT_MODEL
    packages = ("haystack-ai", "sentence-transformers-haystack")

    def __init__(self, path: str = "overwrite") -> None:
        require(*self.packages)

    def config(self) -> dict:
        return {
            "store": "InMemoryDocumentStore(embedding_similarity_function='cosine', return_embedding=False; BM25L, "
                     "its default)",
            "chunking": f"DocumentSplitter(split_by='word', split_length={HAYSTACK_SPLIT_WORDS}, "
                        f"split_overlap={HAYSTACK_SPLIT_OVERLAP}) (sentence splitting needs NLTK data)",
            "embedding": f"SentenceTransformersDocumentEmbedder/TextEmbedder(<MiniLM folder>, local_files_only=True, "
                         f"normalize_embeddings=True, batch_size={EMBED_BATCH}, device=cpu)",
            "hybrid": f"DocumentJoiner(join_mode='reciprocal_rank_fusion') of InMemoryBM25Retriever and "
                      f"InMemoryEmbeddingRetriever, each top_k={FUSION_DEPTH}",
            "update": "split + embed the changed documents, write_documents(policy=DuplicatePolicy.OVERWRITE)",
        }

    def load(self) -> None:
        from haystack.components.joiners import DocumentJoiner
        from haystack.components.preprocessors import DocumentSplitter
        from haystack.components.retrievers.in_memory import InMemoryBM25Retriever, InMemoryEmbeddingRetriever
        from haystack.document_stores.in_memory import InMemoryDocumentStore
        from haystack.utils import ComponentDevice
        from haystack_integrations.components.embedders.sentence_transformers import (
            SentenceTransformersDocumentEmbedder,
            SentenceTransformersTextEmbedder,
        )

        device = ComponentDevice.from_str("cpu")
        common = {"model": str(model_path()), "device": device, "local_files_only": True,
                  "normalize_embeddings": True, "progress_bar": False}
        self.doc_embedder = SentenceTransformersDocumentEmbedder(batch_size=EMBED_BATCH, **common)
        self.text_embedder = SentenceTransformersTextEmbedder(**common)
        self.doc_embedder.warm_up()
        self.text_embedder.warm_up()
        self.text_embedder.run(text="warm up the query path")
        self.splitter = DocumentSplitter(split_by="word", split_length=HAYSTACK_SPLIT_WORDS,
                                         split_overlap=HAYSTACK_SPLIT_OVERLAP)
        if hasattr(self.splitter, "warm_up"):
            self.splitter.warm_up()
        # return_embedding=False: retrievers need not copy every 384-d vector into their results
        self.store = InMemoryDocumentStore(embedding_similarity_function="cosine", return_embedding=False)
        self.bm25 = InMemoryBM25Retriever(document_store=self.store, top_k=FUSION_DEPTH)
        self.dense = InMemoryEmbeddingRetriever(document_store=self.store, top_k=FUSION_DEPTH)
        self.joiner = DocumentJoiner(join_mode="reciprocal_rank_fusion")

    def _chunks(self, docs: list[Doc], cache: VectorCache | None = None):
        from haystack import Document

        split = self.splitter.run(documents=[Document(id=d.id, content=d.text) for d in docs])["documents"]
        if cache is None:
            return self.doc_embedder.run(documents=split)["documents"]

        def embed(texts: list[str]) -> list:
            done = self.doc_embedder.run(documents=[Document(content=t) for t in texts])["documents"]
            return [d.embedding for d in done]

        # the embedder embeds exactly the content here (no meta fields, no prefix or suffix), so that is the key
        for chunk, vector in zip(split, cache.lookup([c.content for c in split], embed)):
            chunk.embedding = [float(x) for x in vector]
        return split

    def build(self, docs: list[Doc], cache: VectorCache | None = None) -> dict:
        from haystack.document_stores.types import DuplicatePolicy

        self.store.write_documents(self._chunks(docs, cache), policy=DuplicatePolicy.OVERWRITE)
        return {"chunks": self.store.count_documents()}

    def search(self, query: str, mode: str, k: int) -> list[Hit]:
        if mode == "bm25":
            found = self.bm25.run(query=query, top_k=k)["documents"]
        else:
            vector = self.text_embedder.run(text=query)["embedding"]
            if mode == "dense":
                found = self.dense.run(query_embedding=vector, top_k=k)["documents"]
            else:
                lists = [self.bm25.run(query=query)["documents"],
                         self.dense.run(query_embedding=vector)["documents"]]
                found = self.joiner.run(documents=lists, top_k=k)["documents"]
        return [Hit(d.meta.get("source_id", d.id), d.content) for d in found]

    def embed_query(self, query: str) -> None:
        self.text_embedder.run(text=query)

    # freshness
    def update(self, docs: list[Doc], path: str) -> dict:
        """``overwrite``: the documented write with ``DuplicatePolicy.OVERWRITE``. The splitter gives each chunk
        an id hashed from its content, so new chunks never overwrite old ones. ``delete+overwrite`` also deletes
        the changed documents' old chunks first (a filter on ``meta.source_id``)."""
        from haystack.document_stores.types import DuplicatePolicy

        if path == "delete+overwrite":
            old = self.store.filter_documents(
                filters={"field": "meta.source_id", "operator": "in", "value": [d.id for d in docs]})
            self.store.delete_documents([d.id for d in old])
        chunks = self._chunks(docs)
        written = self.store.write_documents(chunks, policy=DuplicatePolicy.OVERWRITE)
        return {"written": written}

    def stored(self) -> list[Hit]:
        return [Hit(d.meta.get("source_id", d.id), d.content) for d in self.store.filter_documents()]


# ---- plain bm25s --------------------------------------------------------------------------------------------


class Bm25s:
    """``bm25s`` alone over whole passages (its tokenizer, English stop words, PyStemmer): the lexical floor."""

    name = "bm25s"
    modes = ("bm25",)
    packages = ("bm25s", "PyStemmer")

    def __init__(self) -> None:
        require("bm25s")

    def config(self) -> dict:
        return {"bm25": "bm25s.BM25() (Lucene IDF, k1=1.5, b=0.75) over whole passages, bm25s.tokenize(stopwords='en', "
                        "stemmer=PyStemmer english)"}

    def load(self) -> None:
        import bm25s
        import Stemmer

        self._bm25s, self.stemmer = bm25s, Stemmer.Stemmer("english")

    def build(self, docs: list[Doc]) -> dict:
        self.docs = docs
        self.retriever = self._bm25s.BM25()
        tokens = self._bm25s.tokenize([d.text for d in docs], stopwords="en", stemmer=self.stemmer,
                                      show_progress=False)
        self.retriever.index(tokens, show_progress=False)
        return {"chunks": len(docs)}

    def search(self, query: str, mode: str, k: int) -> list[Hit]:
        tokens = self._bm25s.tokenize([query], stopwords="en", stemmer=self.stemmer, show_progress=False)
        rows, _scores = self.retriever.retrieve(tokens, k=min(k, len(self.docs)), show_progress=False)
        return [Hit(self.docs[int(r)].id, self.docs[int(r)].text) for r in rows[0]]

    def embed_query(self, query: str) -> None:  # no model
        return None


TOOLS = {"ragtune": Ragtune, "ragtune-api": RagtuneApi, "llamaindex": LlamaIndex, "haystack": Haystack,
         "bm25s": Bm25s}
LABELS = {"ragtune": "ragtune", "ragtune-api": "ragtune (HTTP API)", "llamaindex": "LlamaIndex",
          "haystack": "Haystack 2", "bm25s": "bm25s (plain)"}


def make(name: str) -> Tool:
    return TOOLS[name]()


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def emit(payload: dict) -> None:
    """A worker's single line of output (the parent reads the last stdout line)."""
    print(json.dumps(payload, default=float), flush=True)
