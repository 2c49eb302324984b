"""``ragtune.Index``: the Python API over one ragtune home (the CLI is a thin shell over it)."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

from ragtune.audit.log import AuditLog
from ragtune.evaluate.datasets import QAItem, read_eval_items
from ragtune.evaluate.diagnose import Diagnosis, diagnose
from ragtune.evaluate.harness import (
    ADAPTER_CONDITIONS, DEFAULT_SHOTS, EvalRun, item_scores, prompt_condition, run_condition, run_id)
from ragtune.finetune.registry import AdapterRegistry
from ragtune.audit.records import answer_record
from ragtune.audit.replay import ReplayResult, compare
from ragtune.config import AnswerConfig, GeneratorConfig, Settings, resolve_home
from ragtune.generate.answer import Answer, TokenCallback, answer_closed_book, answer_question
from ragtune.models.factory import load_generator, model_ref
from ragtune.models.generator import GenerationParams, Generator
from ragtune.models.local import folder_hash
from ragtune.errors import InputError, ModelError, StoreError
from ragtune.ingest.pipeline import IngestReport, ProgressCallback, run_ingest
from ragtune.ingest.sources import expand_sources
from ragtune.models.embedder import Embedder, load_embedder
from ragtune.retrieve.filters import Filters
from ragtune.retrieve.searcher import Searcher, SearchResult
from ragtune.store.base import DocumentRecord, Store
from ragtune.store.lance import LanceStore
from ragtune.types import SearchMode

if TYPE_CHECKING:
    from ragtune.finetune.pipeline import FinetuneResult
    from ragtune.finetune.raft import RaftStats
    from ragtune.finetune.staleness import Staleness


@dataclass(frozen=True)
class IndexStatus:
    home: str
    backend: str
    documents: int
    chunks: int
    store_version: int
    embedder: str
    search: str  # "exact" (in memory) or "indexed" (ANN + full-text indexes)

    def to_json(self) -> dict:
        return dict(self.__dict__)


class Index:
    """A document index in a ragtune home: ingest, sync, search, status.

    >>> index = Index("./.ragtune")
    >>> index.ingest(["docs/"]).added
    >>> index.search("how do I sync a folder?", k=5).hits[0].chunk.text
    """

    def __init__(
        self,
        home: str | Path | None = None,
        *,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        store: Store | None = None,
        generator: Generator | None = None,
    ) -> None:
        settings = settings or Settings()
        if home is not None:
            settings = replace(settings, home=resolve_home(home))
        self.settings = settings
        self.home = settings.home
        self.embedder = embedder or load_embedder(settings.embedder, settings.device)
        self._store = store
        self._searcher: Searcher | None = None
        self._generator = generator  # injected (tests, custom backends); else built from settings.generator
        self._audit: AuditLog | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = LanceStore(self.home / "lance", self.embedder.model_id, self.embedder.dim)
        return self._store

    @property
    def searcher(self) -> Searcher:
        if self._searcher is None:
            self._searcher = Searcher(self.store, self.embedder, self.settings.retrieval)
        return self._searcher

    @contextmanager
    def _write_lock(self) -> Iterator[None]:
        """One writer per home: a second ingest waits for nothing and fails fast with a clear message."""
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.home / "write.lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise StoreError(
                    f"another ragtune process is writing to {self.home}; wait for it to finish and retry"
                ) from exc
            handle.write(str(os.getpid()))
            handle.flush()
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def ingest(
        self,
        paths: Sequence[str | Path],
        *,
        groups: Sequence[str] = (),
        on_progress: ProgressCallback | None = None,
    ) -> IngestReport:
        """Add new and re-index changed documents; unchanged ones (same content hash) are skipped."""
        sources = expand_sources([Path(p) for p in paths])
        with self._write_lock():
            try:
                return run_ingest(self.store, self.embedder, sources, self.settings, groups=groups,
                                  on_progress=on_progress)
            finally:
                self._after_write()

    def sync(
        self, directory: str | Path, *, groups: Sequence[str] = (), on_progress: ProgressCallback | None = None
    ) -> IngestReport:
        """Make the index mirror ``directory``: add new, re-index changed, remove documents no longer there."""
        path = Path(directory)
        if not path.is_dir():
            raise InputError(f"{path}: not a folder (sync mirrors a folder; use ingest for single files)")
        sources = expand_sources([path])
        with self._write_lock():
            try:
                return run_ingest(self.store, self.embedder, sources, self.settings, groups=groups,
                                  remove_missing=True, on_progress=on_progress)
            finally:
                self._after_write()

    def _after_write(self) -> None:
        if self._searcher is not None:
            self._searcher.invalidate()

    def search(
        self, query: str, *, mode: SearchMode = "hybrid", k: int = 10, filters: Filters | None = None
    ) -> SearchResult:
        return self.searcher.search(query, mode=mode, k=k, filters=filters)

    @property
    def audit(self) -> AuditLog:
        if self._audit is None:
            self._audit = AuditLog(self.home / "audit.sqlite")
        return self._audit

    @property
    def adapters(self) -> AdapterRegistry:
        return AdapterRegistry(self.home / "adapters")

    def resolve_adapter(self, ref: str | Path | None, *, promoted: bool = True) -> tuple[Path, str] | None:
        """An adapter reference → (folder, id): a registry id, or a peft adapter folder; with no reference, the
        promoted adapter (when ``promoted``), else none. ``"base"`` means no adapter at all."""
        server = self.settings.generator.base_url
        if ref is None:
            record = self.adapters.promoted() if promoted and not server else None
        elif str(ref) == "base":
            return None
        else:
            if server:
                raise ModelError(f"adapter {ref}: adapters apply to local models; the generator is the server "
                                 f"{server} (unset RAGTUNE_BASE_URL, or serve a merged export there)")
            path = Path(ref).expanduser()
            if (path / "adapter_config.json").is_file():
                return path.resolve(), path.name
            if os.sep in str(ref) or path.exists():
                raise InputError(f"adapter {ref}: not a registry id, and that folder has no adapter_config.json")
            record = self.adapters.get(str(ref))
        if record is None:
            return None
        trained_on, configured = record.base_model.get("model"), self.settings.generator.model
        if trained_on and trained_on != configured:
            raise ModelError(f"adapter {record.id} was trained on base model {trained_on!r} but the configured "
                             f"model is {configured!r}: set RAGTUNE_MODEL={trained_on}, pass --adapter base, or "
                             "promote an adapter trained on this model")
        return record.path, record.id

    def generator(self, adapter: tuple[Path, str] | None = None, config: GeneratorConfig | None = None) -> Generator:
        """The configured model, with a resolved adapter (see :meth:`resolve_adapter`) applied when given."""
        if self._generator is not None:
            return self._generator
        path, adapter_id = adapter if adapter else (None, None)
        return load_generator(config or self.settings.generator, adapter=path, adapter_id=adapter_id,
                              device=self.settings.device)

    def ask(
        self,
        question: str,
        *,
        k: int | None = None,
        retrieval: bool = True,
        adapter: str | Path | None = None,
        filters: Filters | None = None,
        on_token: TokenCallback | None = None,
        source: str = "python",
    ) -> Answer:
        """Answer from the documents with verified citations (or closed-book with ``retrieval=False``); every
        answer is appended to the audit log and carries its ``audit_id``."""
        if not (question or "").strip():
            raise InputError("question is empty: ask something")
        config = self.settings.answer if k is None else replace(self.settings.answer, k=k)
        resolved = self.resolve_adapter(adapter)
        generator = self.generator(resolved)
        if retrieval:
            answer = answer_question(question, searcher=self.searcher, generator=generator, config=config,
                                     filters=filters, on_token=on_token)
        else:
            answer = answer_closed_book(question, generator, config.params, on_token)
        ref = model_ref(self.settings.generator, resolved)
        record = self.audit.append("answer", answer_record(answer, source=source, model_ref=ref))
        return replace(answer, audit_id=record.id)

    def replay(self, record_id: str) -> ReplayResult:
        """Re-run an audited answer on the store version it saw, with the same model and parameters."""
        record = self.audit.get(record_id)
        body = record.body
        if body.get("kind") != "answer":
            raise InputError(f"audit record {record_id} is a {body.get('kind')!r} record, not an answer")
        ref = body["model"]["ref"]
        config = GeneratorConfig(model=ref["model"], base_url=ref["base_url"], api_key=self.settings.generator.api_key)
        adapter = ref.get("adapter")
        generator = self.generator((Path(adapter), ref.get("adapter_id") or Path(adapter).name) if adapter else None,
                                   config)
        generation = dict(body["generation"], stop=tuple(body["generation"]["stop"]))
        params = GenerationParams(**generation)
        retrieval = body["retrieval"]
        if retrieval is None:
            answer = answer_closed_book(body["question"], generator, params)
        else:
            pinned = LanceStore(self.home / "lance", self.embedder.model_id, self.embedder.dim,
                                version=body["store_version"])
            searcher = Searcher(pinned, self.embedder, replace(self.settings.retrieval,
                                                               candidates=retrieval["candidates"],
                                                               rrf_k=retrieval["rrf_k"]))
            config_ = AnswerConfig(k=retrieval["k"], mode=retrieval["mode"],
                                   min_relevance=retrieval["min_relevance"], min_support=retrieval["min_support"],
                                   params=params)
            filters = Filters(retrieval["filters"]["path_prefix"], retrieval["filters"]["metadata"])
            answer = answer_question(body["question"], searcher=searcher, generator=generator, config=config_,
                                     filters=filters)
        replayed = answer_record(answer, source="replay", model_ref=ref)
        return compare(record, replayed, replayed["model"])

    def evaluate(
        self,
        qa: str | Path,
        *,
        condition: str = "retrieval",
        corpus: str | Path | None = None,
        train: str | Path | None = None,
        adapter: str | Path | None = None,
        shots: int = DEFAULT_SHOTS,
        limit: int | None = None,
        seed: int = 0,
        on_item: Callable[[int, int], None] | None = None,
    ) -> EvalRun:
        """Run the model over an eval set under one condition; per-item results land in ``runs/<run id>``.

        With ``corpus``, it is indexed once into ``eval-index/<hash>`` under the home (reused by later runs)
        and serves the retrieval condition and the oracle's gold documents; without it, this index does."""
        items = read_eval_items(Path(qa))
        if limit is not None:
            if limit < 1:
                raise InputError(f"limit={limit}: must be at least 1")
            items = items[:limit]
        if shots < 0:
            raise InputError(f"shots={shots}: must be >= 0")
        train_items = read_eval_items(Path(train)) if train else None
        source = self if corpus is None else self.eval_source(corpus)
        gold_ids = {d for item in items if isinstance(item, QAItem) for d in item.gold_doc_ids}
        gold_texts = {}
        if condition.startswith("oracle") and gold_ids:
            for doc_id in gold_ids:
                doc = source.document(doc_id)
                if doc is not None:
                    gold_texts[doc_id] = doc.text
        if condition in ADAPTER_CONDITIONS:
            resolved = self.resolve_adapter(adapter)
            if resolved is None:
                raise InputError(f"the {condition} condition needs an adapter: pass --adapter ID (or promote one)")
        else:  # base conditions run on the base model unless an adapter is named explicitly
            resolved = self.resolve_adapter(adapter, promoted=False)
        generator = self.generator(resolved)
        identity = {"model": asdict(generator.identity), "answer": asdict(self.settings.answer), "shots": shots,
                    "seed": seed, "train": str(train) if train else None,
                    "store_version": source.store.version() if prompt_condition(condition) == "retrieval" else None,
                    "limit": limit}
        run_dir = self.home / "runs" / run_id(Path(qa), condition, identity)
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "meta.json").write_text(json.dumps({"qa": str(qa), "condition": condition, **identity},
                                                      indent=2, default=str))
        return run_condition(
            items, condition, generator=generator, config=self.settings.answer, run_dir=run_dir,
            searcher=source.searcher if prompt_condition(condition) == "retrieval" else None, gold_texts=gold_texts,
            train=train_items, shots=shots, seed=seed, on_item=on_item,
        )

    def eval_source(self, corpus: str | Path) -> "Index":
        """An index of an eval corpus, kept in ``eval-index/<hash of its path>`` under this home and synced on
        each use (unchanged documents cost nothing), so evaluations see the corpus as it is now."""
        corpus_path = Path(corpus)
        if not corpus_path.exists():
            raise InputError(f"{corpus_path}: no such corpus file or folder")
        key = hashlib.sha256(str(corpus_path.resolve()).encode()).hexdigest()[:12]
        source = Index(settings=replace(self.settings, home=self.home / "eval-index" / key), embedder=self.embedder,
                       generator=self._generator)
        source.ingest([corpus_path])
        return source

    def finetune(self, train: str | Path, **options) -> "FinetuneResult":
        """Check the data, train a LoRA adapter, register it and evaluate it against the base model
        (see :func:`ragtune.finetune.pipeline.run_finetune` for the options)."""
        from ragtune.finetune.pipeline import run_finetune

        return run_finetune(self, Path(train), **options)

    def make_raft(self, qa: str | Path, corpus: str | Path, out: str | Path, *, distractors: int = 3,
                  oracle_share: float = 0.8, seed: int = 0) -> "RaftStats":
        """Write RAFT training rows for the QA items (see :mod:`ragtune.finetune.raft`) to ``out``."""
        from ragtune.finetune.raft import chunks_by_doc, raft_examples, write_jsonl

        if distractors < 1:
            raise InputError(f"distractors={distractors}: must be at least 1")
        if not 0 <= oracle_share <= 1:
            raise InputError(f"oracle_share={oracle_share}: must be between 0 and 1")
        items = [i for i in read_eval_items(Path(qa)) if isinstance(i, QAItem)]
        if not items:
            raise InputError(f"{qa}: no QA items (question/answers/gold_doc_ids) to build RAFT examples from")
        source = self.eval_source(corpus)
        by_doc = chunks_by_doc(source.store)
        rows, stats = raft_examples(items, searcher=source.searcher, doc_chunks=lambda d: by_doc.get(d, []),
                                    distractors=distractors, oracle_share=oracle_share, seed=seed)
        if not rows:
            raise InputError(f"{qa}: no RAFT example could be built ({dict(stats.skipped)}); check that the "
                             "gold_doc_ids are ids in the corpus")
        write_jsonl(rows, Path(out))
        return stats

    def adapter_status(self, adapter_id: str | None = None) -> "Staleness":
        """Corpus drift and eval drop since an adapter (default: the promoted one) was trained."""
        from ragtune.finetune.staleness import assess, latest_eval

        record = self.adapters.get(adapter_id) if adapter_id else self.adapters.promoted()
        if record is None:
            raise InputError("no adapter is promoted: name one (`ragtune adapters status ID`)")
        snapshot = self.adapters.snapshot(record.id)
        current = None
        if snapshot is not None:
            source = snapshot.get("source")
            if source is None:
                current = self.store.document_versions()
            elif Path(source).exists():
                current = self.eval_source(source).store.document_versions()
            else:
                current = {}  # the training corpus is gone: every document counts as removed
        return assess(record, snapshot, current, latest_eval(self.home / "runs", folder_hash(record.path)))

    def diagnose(
        self,
        qa: str | Path,
        *,
        corpus: str | Path | None = None,
        train: str | Path | None = None,
        adapter: str | Path | None = None,
        target: float = 0.8,
        shots: int = DEFAULT_SHOTS,
        limit: int | None = None,
        report: str | Path | None = None,
        on_item: Callable[[str, int, int], None] | None = None,
    ) -> tuple[Diagnosis, dict[str, EvalRun], Path]:
        """Run the conditions that apply, decide prompt | rag | finetune | both, and save the result as JSON
        (``runs/diagnose-*.json``). With ``report``, also write a self-contained HTML report there; the path
        returned is the report's, else the JSON's."""
        if not 0 < target <= 1:
            raise InputError(f"target={target}: must be in (0, 1]")
        if report is not None and Path(report).is_dir():  # fail before the model runs, not after
            raise InputError(f"report {report}: is a folder; give a file name such as "
                             f"{Path(report) / 'report.html'}")
        items = read_eval_items(Path(qa))
        has_qa = any(isinstance(i, QAItem) for i in items)
        conditions = ["closed_book", "few_shot"]
        if has_qa:
            conditions += ["oracle", "oracle+few_shot"]
            if corpus is not None or self.store.counts()[1] > 0:
                conditions.append("retrieval")
        resolved = self.resolve_adapter(adapter)  # the named adapter, else the promoted one, else none
        if resolved is not None:
            conditions += ["adapter"] + (["adapter+retrieval"] if "retrieval" in conditions else [])
        runs: dict[str, EvalRun] = {}
        for condition in conditions:
            progress = (lambda done, total, c=condition: on_item(c, done, total)) if on_item else None
            try:
                runs[condition] = self.evaluate(
                    qa, condition=condition, corpus=corpus, train=train,
                    adapter=str(resolved[0]) if condition in ADAPTER_CONDITIONS and resolved else None,
                    shots=shots, limit=limit, on_item=progress)
            except InputError as exc:
                if condition.startswith("oracle") and "oracle condition needs" in str(exc):
                    continue  # no gold context available: the verdict rests on the other conditions
                raise
        diagnosis = diagnose(item_scores(runs, items), target, adapter_id=resolved[1] if resolved else None)
        out = self.home / "runs" / f"diagnose-{'-'.join(sorted(r.run_id for r in runs.values()))[:64]}.json"
        out.write_text(json.dumps({"qa": str(qa), "target": target, **diagnosis.to_json(),
                                   "runs": {c: r.run_id for c, r in runs.items()}}, indent=2))
        if report is None:
            return diagnosis, runs, out
        # Imported here: the report pulls in matplotlib, which every other command would otherwise pay for.
        from ragtune.evaluate.report import render_report, write_report

        document = render_report(diagnosis, runs, items, qa_path=qa, target=target)
        return diagnosis, runs, write_report(report, document)

    def document(self, doc_id: str) -> DocumentRecord | None:
        return self.store.get_document(doc_id)

    def status(self) -> IndexStatus:
        documents, chunks = self.store.counts()
        return IndexStatus(
            home=str(self.home),
            backend=self.store.backend,
            documents=documents,
            chunks=chunks,
            store_version=self.store.version(),
            embedder=self.embedder.model_id,
            search="indexed" if self.store.uses_native_indexes() else "exact",
        )
