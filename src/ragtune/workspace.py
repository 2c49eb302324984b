"""``ragtune.Workspace``: the one place that builds ragtune's components from settings.

The CLI, the Python API and (later) the HTTP server all start here. Components never import this module; each
takes what it needs in its constructor, so a test can build any of them alone with fakes.

>>> ws = Workspace("./.ragtune")
>>> ws.documents.ingest(["docs/"]).added
>>> ws.documents.search("how do I sync a folder?", k=5).hits[0].chunk.text
>>> ws.answers.ask("What does sync do?").citations
>>> ws.evaluation.diagnose("eval.jsonl", corpus="docs/").verdict
"""

from __future__ import annotations

from dataclasses import replace
from functools import cached_property
from pathlib import Path

from ragtune.audit.log import AuditLog
from ragtune.components.adapters import AdapterResolver
from ragtune.components.answers import Answerer
from ragtune.components.costs import Economics
from ragtune.components.documents import DocumentIndex, corpus_index
from ragtune.components.evaluation import Evaluator
from ragtune.components.maintenance import GcReport, collect_garbage
from ragtune.components.records import AuditView
from ragtune.components.tuning import Tuner
from ragtune.components.uploads import Uploads
from ragtune.config import Settings, resolve_home
from ragtune.finetune.registry import AdapterRegistry
from ragtune.keys import KeyStore
from ragtune.models.embedder import Embedder, backend_for_index, load_embedder
from ragtune.models.factory import GeneratorFactory, model_generators
from ragtune.store.factory import recorded_embedder


class Workspace:
    """Everything in one ragtune home. Parts are built on first use, so a command that only reads the audit log
    or the adapter registry never loads a model.

    ``embedder`` and ``generators`` replace the configured models (tests pass fakes; see ``ragtune.testing``)."""

    def __init__(self, home: str | Path | None = None, *, settings: Settings | None = None,
                 embedder: Embedder | None = None, generators: GeneratorFactory | None = None) -> None:
        settings = settings or Settings()
        if home is not None:
            settings = replace(settings, home=resolve_home(home))
        self.settings = settings
        self.home = settings.home
        self._embedder = embedder
        self.generators = generators or model_generators(settings.device)

    @cached_property
    def embedder(self) -> Embedder:
        """The configured embedder on the backend the index was built with (an index built by the float model
        keeps opening with it after the default backend changes; see ``backend_for_index``). Replay and the
        evaluation corpora use this one too, so they embed exactly as the index did."""
        if self._embedder is not None:
            return self._embedder
        s = self.settings
        backend = backend_for_index(recorded_embedder(s), s.embedder, s.embedder_backend, s.device)
        return load_embedder(s.embedder, s.device, backend)

    @cached_property
    def documents(self) -> DocumentIndex:
        return DocumentIndex(self.settings, self.embedder)

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self.home / "audit.sqlite", key=self.settings.audit.key)

    @cached_property
    def uploads(self) -> Uploads:
        return Uploads(self.documents, self.home / "uploads")

    @cached_property
    def keys(self) -> KeyStore:
        return KeyStore(self.home / "keys.sqlite")

    @cached_property
    def records(self) -> AuditView:
        """The audit log as an API key may read it (its own answers, over documents it can still see)."""
        return AuditView(self.audit, self.documents)

    @cached_property
    def registry(self) -> AdapterRegistry:
        return AdapterRegistry(self.home / "adapters")

    @cached_property
    def adapters(self) -> AdapterResolver:
        return AdapterResolver(self.registry, self.settings.generator)

    @cached_property
    def answers(self) -> Answerer:
        return Answerer(self.documents, self.generators, self.adapters, self.audit, self.settings.answer,
                        self.settings.generator)

    @cached_property
    def evaluation(self) -> Evaluator:
        return Evaluator(self.documents, self._open_corpus, self.generators, self.adapters, self.settings,
                         self.economics)

    @cached_property
    def economics(self) -> Economics:
        """Costs per option at this home's volume, from its measurements and a price sheet (``ragtune cost``)."""
        return Economics(self.home)

    @cached_property
    def tuning(self) -> Tuner:
        return Tuner(self.documents, self._open_corpus, self.generators, self.registry, self.settings)

    def gc(self, keep_days: float | None = None) -> GcReport:
        """Collect store versions older than ``keep_days`` (default: ``settings.retention_days``) that no audit
        record inside that window pins."""
        days = self.settings.retention_days if keep_days is None else keep_days
        return collect_garbage(self.documents, self.audit, days)

    def _open_corpus(self, corpus: Path) -> DocumentIndex:
        return corpus_index(self.settings, self.embedder, corpus)
