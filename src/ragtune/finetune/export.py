"""``adapters export ID --merged DIR``: base model + adapter merged into one plain transformers folder, for serving
stacks that cannot apply a LoRA adapter at load time."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ragtune.errors import InputError
from ragtune.files import replace_dir
from ragtune.finetune.registry import AdapterRecord


def export_merged(record: AdapterRecord, model_dir: Path, out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise InputError(f"{out_dir}: folder exists and is not empty; choose a new folder")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    merged = PeftModel.from_pretrained(model, str(record.path)).merge_and_unload()

    def write(folder: Path) -> None:
        merged.save_pretrained(str(folder))
        AutoTokenizer.from_pretrained(str(model_dir)).save_pretrained(str(folder))
        (folder / "ragtune-adapter.json").write_text(json.dumps(
            {"adapter": record.id, "base_model": record.base_model, "created": record.created}, indent=2))

    return replace_dir(out_dir, write)
