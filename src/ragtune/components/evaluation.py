"""The evaluation component: run conditions over an eval set, diagnose knowledge vs behaviour, score retrieval."""

from __future__ import annotations

import json
import tempfile
import uuid
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

from ragtune.components.adapters import AdapterResolver
from ragtune.components.costs import Economics
from ragtune.components.documents import DocumentIndex
from ragtune.config import Settings
from ragtune.errors import InputError
from ragtune.evaluate.conditions import grounded_examples_note
from ragtune.evaluate.datasets import EvalItem, QAItem, read_eval_items, with_gold_ids
from ragtune.evaluate.diagnose import Diagnosis, diagnose
from ragtune.evaluate.harness import (
    ADAPTER_CONDITIONS,
    DEFAULT_SHOTS,
    EvalRun,
    item_scores,
    prompt_condition,
    run_condition,
    run_id,
)
from ragtune.evaluate.retrieval import RetrievalEval, evaluate_retrieval
from ragtune.files import file_sha256, write_atomic
from ragtune.models.factory import GeneratorFactory
from ragtune.text import sha256_text

CorpusOpener = Callable[[Path], DocumentIndex]
"""An eval corpus (file or folder) → an up-to-date index of it (see :func:`corpus_index`)."""


@dataclass
class Evaluator:
    documents: DocumentIndex
    open_corpus: CorpusOpener
    generators: GeneratorFactory
    adapters: AdapterResolver
    settings: Settings
    economics: Economics | None = None  # the report's cost section; None leaves it out

    @property
    def runs_dir(self) -> Path:
        return Path(self.settings.home) / "runs"

    def evaluate(self, qa: str | Path, *, condition: str = "retrieval", corpus: str | Path | None = None,
                 train: str | Path | None = None, adapter: str | Path | None = None, shots: int = DEFAULT_SHOTS,
                 limit: int | None = None, seed: int = 0,
                 on_item: Callable[[int, int], None] | None = None) -> EvalRun:
        """Run the model over an eval set under one condition; per-item results land in ``runs/<run id>``.
        With ``corpus``, that corpus serves the retrieval condition and the oracle's gold documents; without it,
        the workspace's own documents do."""
        items = read_eval_items(Path(qa))
        if limit is not None:
            if limit < 1:
                raise InputError(f"limit={limit}: must be at least 1")
            items = items[:limit]
        if shots < 0:
            raise InputError(f"shots={shots}: must be >= 0")
        train_items = read_eval_items(Path(train)) if train else None
        source = self.documents if corpus is None else self.open_corpus(Path(corpus))
        items = _resolved(items, source)
        train_items = _resolved(train_items, source) if train_items else None
        # grounded few-shot examples show their own gold passage, so train items' gold documents are looked up too
        gold_texts = _gold_texts(source, items + (train_items or [])) if condition.startswith("oracle") else {}
        if condition in ADAPTER_CONDITIONS:
            resolved = self.adapters.resolve(adapter)
            if resolved is None:
                raise InputError(f"the {condition} condition needs an adapter: pass --adapter ID (or promote one)")
        else:  # base conditions run on the base model unless an adapter is named explicitly
            resolved = self.adapters.resolve(adapter, promoted=False)
        generator = self.generators(self.settings.generator, resolved)
        retrieves = prompt_condition(condition) == "retrieval"
        # What the results depend on, by content (a path alone would let an edited file reuse stale results):
        # the eval file is hashed by run_id, the training file and the gold texts here, the corpus through the
        # store version its index has after syncing.
        identity = {"model": asdict(generator.identity), "answer": asdict(self.settings.answer), "shots": shots,
                    "seed": seed, "train": str(train) if train else None,
                    "train_sha256": file_sha256(Path(train)) if train else None,
                    "gold_sha256": sha256_text(json.dumps(gold_texts, sort_keys=True)) if gold_texts else None,
                    "store_version": source.store.version() if retrieves else None, "limit": limit}
        run_dir = self.runs_dir / run_id(Path(qa), condition, identity)
        write_atomic(run_dir / "meta.json", json.dumps({"qa": str(qa), "condition": condition, **identity},
                                                       indent=2, default=str))
        return run_condition(items, condition, generator=generator, config=self.settings.answer, run_dir=run_dir,
                             searcher=source.searcher if retrieves else None, gold_texts=gold_texts,
                             train=train_items, shots=shots, seed=seed, batch_size=self.settings.eval_batch_size,
                             on_item=on_item)

    def diagnose(self, qa: str | Path, *, corpus: str | Path | None = None, train: str | Path | None = None,
                 adapter: str | Path | None = None, target: float = 0.8, shots: int = DEFAULT_SHOTS,
                 limit: int | None = None, report: str | Path | None = None, prices: str | Path | None = None,
                 on_item: Callable[[str, int, int], None] | None = None) -> tuple[Diagnosis, dict[str, EvalRun], Path]:
        """Run the conditions that apply, decide prompt | rag | finetune | both, and save the result as JSON
        (``runs/diagnose-*.json``). With ``report``, also write a self-contained HTML report there; the path
        returned is the report's, else the JSON's. The report's cost section prices the options with ``prices``
        (else the home's price sheet, if any)."""
        if not 0 < target <= 1:
            raise InputError(f"target={target}: must be in (0, 1]")
        if report is not None and Path(report).is_dir():  # fail before the model runs, not after
            raise InputError(f"report {report}: is a folder; give a file name such as {Path(report) / 'report.html'}")
        sheet = None  # read (and checked) before the model runs, too
        if self.economics is not None and (prices is not None or self.economics.default_prices.is_file()):
            sheet = self.economics.prices(prices)
        elif prices is not None:
            raise InputError("--prices: this evaluator has no cost model")
        items = read_eval_items(Path(qa))
        conditions = ["closed_book", "few_shot"]
        if any(isinstance(i, QAItem) for i in items):
            conditions += ["oracle", "oracle+few_shot"]
            if corpus is not None or self.documents.store.counts()[1] > 0:
                conditions.append("retrieval")
        resolved = self.adapters.resolve(adapter)  # the named adapter, else the promoted one, else none
        if resolved is not None:
            conditions += ["adapter"] + (["adapter+retrieval"] if "retrieval" in conditions else [])
        runs: dict[str, EvalRun] = {}
        for condition in conditions:
            progress = (lambda done, total, c=condition: on_item(c, done, total)) if on_item else None
            try:
                runs[condition] = self.evaluate(
                    qa, condition=condition, corpus=corpus, train=train,
                    adapter=str(resolved.path) if condition in ADAPTER_CONDITIONS and resolved else None,
                    shots=shots, limit=limit, on_item=progress)
            except InputError as exc:
                if condition.startswith("oracle") and "oracle condition needs" in str(exc):
                    continue  # no gold context available: the verdict rests on the other conditions
                raise
        diagnosis = diagnose(item_scores(runs, items), target, adapter_id=resolved.adapter_id if resolved else None)
        if train is not None and "oracle+few_shot" in runs:
            source = self.documents if corpus is None else self.open_corpus(Path(corpus))
            train_items = _resolved(read_eval_items(Path(train)), source)
            note = grounded_examples_note(train_items, _gold_texts(source, train_items))
            if note:
                diagnosis = replace(diagnosis, evidence=diagnosis.evidence + [note])
        out = self.runs_dir / f"diagnose-{'-'.join(sorted(r.run_id for r in runs.values()))[:64]}.json"
        write_atomic(out, json.dumps({"qa": str(qa), "target": target, **diagnosis.to_json(),
                                      "runs": {c: r.run_id for c, r in runs.items()}}, indent=2))
        if report is None:
            return diagnosis, runs, out
        # Imported here: the report pulls in matplotlib, which every other command would otherwise pay for.
        from ragtune.evaluate.report import render_report, write_report

        cost = self.economics.report_section(sheet, diagnosis.verdict) if self.economics is not None else None
        html = render_report(diagnosis, runs, items, qa_path=qa, target=target, cost=cost)
        # a copy beside the run's JSON, where `ragtune serve` finds it (it never serves a path a file names)
        write_atomic(out.with_suffix(".html"), html)
        return diagnosis, runs, write_report(report, html)

    def retrieval(self, corpus: str | Path, qa: str | Path, *, on_ingest_progress=None,
                  on_query: Callable[[int, int], None] | None = None) -> RetrievalEval:
        """bm25, dense and hybrid scored on ``qa`` over ``corpus``, indexed into a throwaway home."""
        corpus = Path(corpus)
        if not corpus.exists():
            raise InputError(f"{corpus}: no such corpus file or folder")
        with tempfile.TemporaryDirectory(prefix="ragtune-eval-") as tmp:
            # a throwaway index of the configured backend: its own namespace in a shared store (never the main
            # index), deleted afterwards
            settings = replace(self.settings, home=Path(tmp), store_namespace=f"tmp_{uuid.uuid4().hex[:16]}")
            index = DocumentIndex(settings, self.documents.embedder)
            try:
                return evaluate_retrieval(index, corpus, Path(qa), on_ingest_progress=on_ingest_progress,
                                          on_query=on_query)
            finally:
                index.store.drop()


def _resolved(items: list[EvalItem], source: DocumentIndex) -> list[EvalItem]:
    """The items with their gold ids as ``source`` stores them (see :meth:`DocumentIndex.resolve_ids`)."""
    return with_gold_ids(items, source.resolve_ids(
        {d for item in items if isinstance(item, QAItem) for d in item.gold_doc_ids}))


def _gold_texts(source: DocumentIndex, items: list[EvalItem]) -> dict[str, str]:
    """Text of the gold documents the QA items name that ``source`` holds (doc id → text)."""
    ids = {d for item in items if isinstance(item, QAItem) for d in item.gold_doc_ids}
    return {d: doc.text for d in sorted(ids) if (doc := source.document(d)) is not None}
