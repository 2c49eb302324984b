"""Which LoRA adapter a request means: a registry id, a peft adapter folder, the promoted one, or none."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ragtune.config import GeneratorConfig
from ragtune.errors import InputError, ModelError
from ragtune.finetune.registry import AdapterRegistry
from ragtune.types import AdapterRef


@dataclass
class AdapterResolver:
    registry: AdapterRegistry
    generator: GeneratorConfig

    def resolve(self, ref: str | Path | None, *, promoted: bool = True) -> AdapterRef | None:
        """A registry id or a peft adapter folder; with no reference, the promoted adapter (when ``promoted``),
        else none. ``"base"`` means no adapter at all."""
        server = self.generator.base_url
        if ref is None:
            record = self.registry.promoted() if promoted and not server else None
        elif str(ref) == "base":
            return None
        else:
            if server:
                raise ModelError(f"adapter {ref}: adapters apply to local models; the generator is the server "
                                 f"{server} (unset RAGTUNE_BASE_URL, or serve a merged export there)")
            path = Path(ref).expanduser()
            if (path / "adapter_config.json").is_file():
                return AdapterRef(path.resolve(), path.name)
            if os.sep in str(ref) or path.exists():
                raise InputError(f"adapter {ref}: not a registry id, and that folder has no adapter_config.json")
            record = self.registry.get(str(ref))
        if record is None:
            return None
        trained_on, configured = record.base_model.get("model"), self.generator.model
        if trained_on and trained_on != configured:
            raise ModelError(f"adapter {record.id} was trained on base model {trained_on!r} but the configured "
                             f"model is {configured!r}: set RAGTUNE_MODEL={trained_on}, pass --adapter base, or "
                             "promote an adapter trained on this model")
        return AdapterRef(record.path, record.id)

    def recorded(self, ref: dict) -> AdapterRef | None:
        """The registry adapter an audit record's model reference names, for replay — never a folder taken from
        the record: a record is data anyone with write access to the log could edit, and loading an adapter runs
        its files. The record must name a registry folder (``adapters/<id>``) and that id must be registered in
        this home; the adapter is loaded from the registry's own folder for the id."""
        recorded_path, adapter_id = ref.get("adapter"), ref.get("adapter_id")
        if not recorded_path:
            return None
        path = Path(recorded_path)
        if not adapter_id or path.name != adapter_id or path.parent.name != self.registry.root.name:
            raise InputError(f"the audit record's adapter {recorded_path} is not a registry adapter: replay loads "
                             "adapters only from this home's registry (`ragtune adapters list`)")
        try:
            record = self.registry.get(adapter_id)
        except InputError:
            raise InputError(f"the audit record's adapter {adapter_id} is not in this home's registry: replay it "
                             "with --home set to the home that trained it") from None
        return AdapterRef(record.path, record.id)
