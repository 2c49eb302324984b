"""The tuning component: LoRA fine-tuning with data checks and a before/after evaluation, RAFT data, and whether
a trained adapter has gone stale."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ragtune.components.documents import DocumentIndex
from ragtune.components.evaluation import CorpusOpener
from ragtune.config import GeneratorConfig, LoraConfig, Settings
from ragtune.errors import InputError, ModelError
from ragtune.evaluate.datasets import QAItem, read_eval_items, with_gold_ids
from ragtune.evaluate.harness import DEFAULT_SHOTS
from ragtune.finetune.checks import CheckReport
from ragtune.finetune.pipeline import (
    DEFAULT_EVAL_LIMIT,
    MAX_EVAL_LOSS_EXAMPLES,
    base_model_dir,
    before_after,
    prepare_data,
    register_adapter,
    run_key,
)
from ragtune.finetune.raft import RaftStats, chunks_by_doc, raft_examples, write_jsonl
from ragtune.finetune.registry import AdapterRecord, AdapterRegistry
from ragtune.finetune.staleness import Staleness, assess, latest_eval
from ragtune.finetune.train import Progress, TrainResult, train_lora
from ragtune.models.factory import GeneratorFactory
from ragtune.models.local import folder_hash
from ragtune.types import AdapterRef


@dataclass
class FinetuneResult:
    adapter: AdapterRecord
    training: TrainResult
    checks: CheckReport
    evaluation: dict | None

    def to_json(self) -> dict:
        return {"id": self.adapter.id, "adapter": self.adapter.to_json(), "training": self.training.to_json(),
                "checks": self.checks.to_json(), "evaluation": self.evaluation}


@dataclass
class Tuner:
    documents: DocumentIndex
    open_corpus: CorpusOpener
    generators: GeneratorFactory
    registry: AdapterRegistry
    settings: Settings

    def finetune(self, train: str | Path, *, eval_path: str | Path | None = None, name: str | None = None,
                 base: str | None = None, config: LoraConfig = LoraConfig(), corpus: str | Path | None = None,
                 force: bool = False, evaluate: bool = True, eval_limit: int = DEFAULT_EVAL_LIMIT,
                 shots: int = DEFAULT_SHOTS, on_checks: Callable[[CheckReport], None] | None = None,
                 on_progress: Callable[[Progress], None] | None = None,
                 on_eval_item: Callable[[str, int, int], None] | None = None,
                 should_stop: Callable[[], bool] = lambda: False) -> FinetuneResult:
        """Check the data, train a LoRA adapter, register it as ``NAME-vN`` and evaluate it against the base
        model on held-out examples (the registry's promotion gate reads that evaluation)."""
        if self.settings.generator.base_url and base is None:
            raise ModelError("fine-tuning trains local weights; the configured generator is a server "
                             "(RAGTUNE_BASE_URL): pass --base with a local model folder")
        base = base or self.settings.generator.model
        train_path, held_path = Path(train), Path(eval_path) if eval_path else None
        model_dir, model_id = base_model_dir(base)
        data = prepare_data(train_path, held_path, config, model_dir, force=force, on_checks=on_checks)
        model_hash = folder_hash(model_dir)
        work_dir = self.registry.root / ".runs" / run_key(data, model_hash, config)  # resumes here
        # eval loss runs twice an epoch: a sample of a large --eval file measures it as well, at a fraction of the cost
        result = train_lora(data.train, data.held[:MAX_EVAL_LOSS_EXAMPLES], model_dir=model_dir, work_dir=work_dir,
                            config=config, device=self.settings.device, on_progress=on_progress,
                            should_stop=should_stop)
        source = self.documents if corpus is None else self.open_corpus(Path(corpus))
        record = register_adapter(
            self.registry, result, data, name=name or train_path.stem.lower().replace(" ", "-"),
            train_path=train_path, eval_path=held_path, base=base, model_id=model_id, model_hash=model_hash,
            config=config, corpus_snapshot=_snapshot(source, corpus))
        evaluation = None
        if evaluate:
            generator = GeneratorConfig(model=base, base_url=None, api_key=None)
            evaluation = before_after(
                data, base=self.generators(generator, None),
                adapter=self.generators(generator, AdapterRef(record.path, record.id)),
                answer=self.settings.answer,
                runs_dir=Path(self.settings.home) / "runs" / f"finetune-{record.id}-{data.train_sha256[:12]}",
                limit=eval_limit, shots=shots, searcher=source.searcher if corpus is not None else None,
                batch_size=self.settings.eval_batch_size, on_item=on_eval_item)
            record = self.registry.record_metrics(record.id, "eval", evaluation)
        return FinetuneResult(record, result, data.checks, evaluation)

    def make_raft(self, qa: str | Path, corpus: str | Path, out: str | Path, *, distractors: int = 3,
                  oracle_share: float = 0.8, seed: int = 0) -> RaftStats:
        """Write RAFT training rows for the QA items (see :mod:`ragtune.finetune.raft`) to ``out``."""
        if distractors < 1:
            raise InputError(f"distractors={distractors}: must be at least 1")
        if not 0 <= oracle_share <= 1:
            raise InputError(f"oracle_share={oracle_share}: must be between 0 and 1")
        items = [i for i in read_eval_items(Path(qa)) if isinstance(i, QAItem)]
        if not items:
            raise InputError(f"{qa}: no QA items (question/answers/gold_doc_ids) to build RAFT examples from")
        source = self.open_corpus(Path(corpus))
        items = with_gold_ids(items, source.resolve_ids({d for i in items for d in i.gold_doc_ids}))
        by_doc = chunks_by_doc(source.store)
        rows, stats = raft_examples(items, searcher=source.searcher, doc_chunks=lambda d: by_doc.get(d, []),
                                    distractors=distractors, oracle_share=oracle_share, seed=seed)
        if not rows:
            raise InputError(f"{qa}: no RAFT example could be built ({dict(stats.skipped)}); check that the "
                             "gold_doc_ids are ids in the corpus")
        write_jsonl(rows, Path(out))
        return stats

    def adapter_status(self, adapter_id: str | None = None) -> Staleness:
        """Corpus drift and eval drop since an adapter (default: the promoted one) was trained."""
        record = self.registry.get(adapter_id) if adapter_id else self.registry.promoted()
        if record is None:
            raise InputError("no adapter is promoted: name one (`ragtune adapters status ID`)")
        snapshot = self.registry.snapshot(record.id)
        current = None
        if snapshot is not None:
            source = snapshot.get("source")
            if source is None:
                current = self.documents.store.document_versions()
            elif Path(source).exists():
                current = self.open_corpus(Path(source)).store.document_versions()
            else:
                current = {}  # the training corpus is gone: every document counts as removed
        latest = latest_eval(Path(self.settings.home) / "runs", folder_hash(record.path))
        return assess(record, snapshot, current, latest)


def _snapshot(source: DocumentIndex, corpus: str | Path | None) -> dict | None:
    """What the corpus looked like at training time, for `adapters status` (None when there is no corpus)."""
    documents = source.store.document_versions()
    if not documents:
        return None
    return {"store_version": source.store.version(), "documents": documents,
            "source": str(Path(corpus).resolve()) if corpus is not None else None}
