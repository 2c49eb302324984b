"""The adapter registry in ``RAGTUNE_HOME/adapters``: every trained adapter is an immutable version.

Layout::

    adapters/
      registry.json          {"promoted": id | null, "history": [ids promoted before, oldest first]}
      <name>-v<N>/           the peft adapter files + adapter.json (metadata) + corpus.json (training snapshot)

An adapter's weights never change after registration; only its recorded metrics may be added to. Promotion is a
pointer, so rollback is instant and the audit log can always name (and replay) the adapter an answer used.
"""

from __future__ import annotations

import fcntl
import json
import re
import shutil
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from ragtune.errors import InputError
from ragtune.files import replace_dir, write_atomic

META = "adapter.json"
SNAPSHOT = "corpus.json"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_ID = re.compile(r"^(?P<name>.+)-v(?P<version>\d+)$")


@dataclass(frozen=True)
class AdapterRecord:
    id: str
    name: str
    version: int
    created: str
    path: Path
    base_model: dict
    data: dict
    hyperparameters: dict
    training: dict
    corpus: dict | None = None
    metrics: dict = field(default_factory=dict)

    def to_json(self, promoted: bool = False) -> dict:
        data = asdict(self)
        data["path"] = str(self.path)
        data["promoted"] = promoted
        return data


def _record(path: Path) -> AdapterRecord:
    data = json.loads((path / META).read_text())
    data.pop("promoted", None)
    data["path"] = path
    return AdapterRecord(**data)


def check_adapter_id(adapter_id: str) -> str:
    """``adapter_id`` if it can be an id this registry gave out (``NAME-vN``, NAME as :meth:`AdapterRegistry.add`
    accepts it), else an InputError. An id becomes a folder path under the registry, so one holding '/', '..' or
    an absolute path must never reach the filesystem."""
    # fullmatch: with match, "$" would also accept a trailing newline
    match = _ID.fullmatch(adapter_id) if isinstance(adapter_id, str) else None
    if match is None or not _NAME.fullmatch(match["name"]):
        raise InputError(f"adapter id {adapter_id!r}: not a registry id; expected NAME-vN like e2e-v1 (lowercase "
                         "letters, digits, '.', '_' or '-'); `ragtune adapters list` shows the ids")
    return adapter_id


def _write_json(path: Path, data: dict) -> None:
    write_atomic(path, json.dumps(data, indent=2, sort_keys=True, default=str))


class AdapterRegistry:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @contextmanager
    def _locked(self) -> Iterator[dict]:
        """The registry state under an exclusive lock; changes to the yielded dict are saved on exit."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = self._state()
            before = json.dumps(state, sort_keys=True)
            yield state
            if json.dumps(state, sort_keys=True) != before:
                _write_json(self.root / "registry.json", state)

    def _state(self) -> dict:
        path = self.root / "registry.json"
        return json.loads(path.read_text()) if path.exists() else {"promoted": None, "history": []}

    # ---- reading -----------------------------------------------------------------------------------------------

    def list(self) -> list[AdapterRecord]:
        if not self.root.exists():
            return []
        records = [_record(p) for p in self.root.iterdir() if not p.name.startswith(".") and (p / META).is_file()]
        return sorted(records, key=lambda r: (r.created, r.name, r.version))

    def get(self, adapter_id: str) -> AdapterRecord:
        """The record of ``adapter_id``; every method that takes an id from a user starts here, so the id is
        checked before it becomes a path."""
        path = self.root / check_adapter_id(adapter_id)
        if not (path / META).is_file():
            known = ", ".join(r.id for r in self.list()) or "none yet — train one with `ragtune finetune`"
            raise InputError(f"adapter {adapter_id!r} is not in the registry (known: {known})")
        return _record(path)

    def promoted(self) -> AdapterRecord | None:
        adapter_id = self._state()["promoted"]
        return self.get(adapter_id) if adapter_id else None

    def snapshot(self, adapter_id: str) -> dict | None:
        path = self.get(adapter_id).path / SNAPSHOT
        return json.loads(path.read_text()) if path.exists() else None

    # ---- writing -----------------------------------------------------------------------------------------------

    def add(self, name: str, adapter_dir: Path, *, base_model: dict, data: dict, hyperparameters: dict,
            training: dict, corpus_snapshot: dict | None = None) -> AdapterRecord:
        """Copy a trained adapter folder into the registry as the next version of ``name``."""
        if not _NAME.fullmatch(name):
            raise InputError(f"adapter name {name!r}: use lowercase letters, digits, '.', '_' or '-' "
                             "(up to 64 characters, starting with a letter or digit)")
        if not (adapter_dir / "adapter_config.json").is_file():
            raise InputError(f"{adapter_dir}: not a peft adapter folder (no adapter_config.json)")
        with self._locked():
            versions = [r.version for r in self.list() if r.name == name]
            version = max(versions, default=0) + 1
            adapter_id = f"{name}-v{version}"
            corpus = None
            if corpus_snapshot is not None:
                corpus = {"store_version": corpus_snapshot.get("store_version"),
                          "documents": len(corpus_snapshot.get("documents", {}))}
            record = AdapterRecord(adapter_id, name, version, datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                   self.root / adapter_id, base_model, data, hyperparameters, training, corpus)

            def write(folder: Path) -> None:
                shutil.copytree(adapter_dir, folder)
                if corpus_snapshot is not None:
                    _write_json(folder / SNAPSHOT, corpus_snapshot)
                _write_json(folder / META, record.to_json())

            replace_dir(record.path, write)  # all or nothing: a crash leaves only a hidden staging folder
        return record

    def record_metrics(self, adapter_id: str, key: str, metrics: dict) -> AdapterRecord:
        record = self.get(adapter_id)
        with self._locked():
            data = record.to_json()
            data["metrics"] = {**record.metrics, key: metrics}
            _write_json(record.path / META, data)
        return self.get(adapter_id)

    def promote(self, adapter_id: str, *, force: bool = False) -> AdapterRecord:
        record = self.get(adapter_id)
        verdict = promotion_check(record)
        if verdict is not None and not force:
            raise InputError(f"not promoting {adapter_id}: {verdict} (pass --force to promote anyway)")
        with self._locked() as state:
            if state["promoted"] != adapter_id:
                if state["promoted"]:
                    state["history"].append(state["promoted"])
                state["promoted"] = adapter_id
        return record

    def rollback(self) -> AdapterRecord | None:
        """Promote the previously promoted adapter again (or none, going back to the base model)."""
        with self._locked() as state:
            if state["promoted"] is None:
                raise InputError("no adapter is promoted: nothing to roll back")
            state["promoted"] = state["history"].pop() if state["history"] else None
            current = state["promoted"]
        return self.get(current) if current else None


def promotion_check(record: AdapterRecord) -> str | None:
    """Why an adapter should not be promoted, or None. It must beat the honest baseline — the base model with
    few-shot examples — on its held-out eval: a paired 95% CI of (adapter − few-shot) above zero."""
    comparison = (record.metrics.get("eval") or {}).get("adapter_vs_few_shot")
    if comparison is None:
        return "it has no before/after evaluation against base few-shot"
    lo = comparison["ci95"][0]
    if lo <= 0:
        return (f"it does not beat base few-shot on its eval set (adapter − few-shot = {comparison['mean']:+.3f}, "
                f"95% CI [{lo:+.3f}, {comparison['ci95'][1]:+.3f}])")
    return None
