"""``adapters export ID --merged DIR``: base model + adapter merged into one plain transformers folder, for serving
stacks that cannot apply a LoRA adapter at load time.

DIR is the user's: it must be new or an empty folder, and export never removes it or anything in it — on failure
it is left as it was (see :func:`ragtune.files.write_new_dir`)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ragtune.errors import InputError
from ragtune.files import write_new_dir
from ragtune.finetune.registry import AdapterRecord


def export_merged(record: AdapterRecord, model_dir: Path, out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    # checked before loading the model (seconds to minutes), and again by write_new_dir just before writing
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise InputError(f"{out_dir}: exists and is not an empty folder; choose a new folder")
    merged, tokenizer = _load_merged(record, model_dir)

    def write(folder: Path) -> None:
        merged.save_pretrained(str(folder))
        tokenizer.save_pretrained(str(folder))
        (folder / "ragtune-adapter.json").write_text(json.dumps(
            {"adapter": record.id, "base_model": record.base_model, "created": record.created}, indent=2))

    return write_new_dir(out_dir, write)


def _load_merged(record: AdapterRecord, model_dir: Path) -> tuple[Any, Any]:
    """The base model with the adapter folded into its weights, and the base model's tokenizer."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    merged = PeftModel.from_pretrained(model, str(record.path)).merge_and_unload()
    return merged, AutoTokenizer.from_pretrained(str(model_dir))
