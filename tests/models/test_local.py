"""The local transformers generator: clear errors fast, and (slow) the real bundled model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ragtune.errors import ModelError
from ragtune.models.generator import truncate_at_stop
from ragtune.models.local import LocalGenerator, render_prompt
from ragtune.types import GenerationParams


def test_a_missing_model_folder_is_a_clear_error(tmp_path: Path):
    with pytest.raises(ModelError, match="does not exist or has no config.json"):
        LocalGenerator(tmp_path / "nope")


def test_an_adapter_folder_without_a_peft_config_is_refused(tmp_path: Path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    (tmp_path / "model" / "model.safetensors").write_bytes(b"x")
    with pytest.raises(ModelError, match="adapter_config.json"):
        LocalGenerator(tmp_path / "model", adapter=tmp_path)


def test_stop_strings_cut_the_text():
    assert truncate_at_stop("answer\n\nmore", ["\n\n"]) == ("answer", True)
    assert truncate_at_stop("answer", ["###"]) == ("answer", False)


@pytest.fixture(scope="module")
def smollm() -> LocalGenerator:
    return LocalGenerator()


@pytest.mark.slow
def test_greedy_generation_is_deterministic_and_streams_the_same_text(smollm):
    messages = [{"role": "user", "content": "Name a colour."}]
    params = GenerationParams(max_new_tokens=12)
    first, second = smollm.generate(messages, params), smollm.generate(messages, params)
    assert first.text and first.text == second.text and first.completion_tokens <= 12
    assert "".join(smollm.stream(messages, params)).strip() == first.text
    assert smollm.identity.model_id == "SmolLM2-135M-Instruct" and len(smollm.identity.model_hash) == 64


@pytest.mark.slow
def test_a_lora_adapter_is_applied_at_load_time(smollm, tmp_path: Path):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(str(smollm.model_dir), dtype=torch.float32)
    torch.manual_seed(0)
    # random (not zero) LoRA weights with a large alpha: an adapter that is really applied changes the output
    peft_model = get_peft_model(base, LoraConfig(r=4, lora_alpha=64, target_modules=["q_proj", "v_proj"],
                                                 init_lora_weights=False))
    peft_model.save_pretrained(str(tmp_path / "adapter"))
    tuned = LocalGenerator(adapter=tmp_path / "adapter", adapter_id="test-adapter")
    assert tuned.identity.adapter_id == "test-adapter" and len(tuned.identity.adapter_hash) == 64
    messages, params = [{"role": "user", "content": "Name a colour."}], GenerationParams(max_new_tokens=8)
    out = tuned.generate(messages, params)
    assert out.completion_tokens >= 1 and out.text != smollm.generate(messages, params).text


BATCH_PROMPTS = [  # (prompt, max_new_tokens, stop): lengths from a few tokens to a few hundred
    ("Name a colour.", 12, ()),
    ("Hi", 6, ()),  # hits max_new_tokens
    ("Say yes or no: is water wet?", 1, ()),  # ended by its first token (prefilled alone, never batched)
    ("What is the capital of France? Answer with one word.", 16, ()),  # ends early at end of sequence
    ("List three fruits, one per line.", 20, ("\n",)),  # ends early at a stop string
    ("Write a long story about a lighthouse keeper who finds a message in a bottle.", 24, ()),
    ("Question: Who owns the Heron budget?\n\nSources:\n[1] The Heron project ships on 14 March. Dana Okafor "
     "owns the budget. " + "The office is on the fourth floor and the team meets on Mondays. " * 12
     + "\n\nAnswer the question in a few words using the sources, and cite the source number like [1].", 20, ()),
    ("Translate to French: good morning", 10, ("\n\n",)),
    ("Count from one to twenty in words, separated by commas.", 24, ()),
    ("Why is the sky blue? " * 8, 14, ()),
]


@pytest.mark.slow
def test_batched_decoding_equals_one_at_a_time_token_for_token(smollm):
    requests = [([{"role": "user", "content": text}], GenerationParams(max_new_tokens=n, stop=stop))
                for text, n, stop in BATCH_PROMPTS]
    alone = [smollm._new_tokens(messages, params)[1] for messages, params in requests]  # what generate() decodes
    tokenizer = smollm._load()[0]
    rows = [(tokenizer(render_prompt(tokenizer, m), add_special_tokens=False)["input_ids"], p) for m, p in requests]
    assert len({len(ids) for ids, _ in rows}) >= 8  # rows padded by different amounts
    assert smollm._batch_new_tokens(rows) == alone  # (its speed is bench/eval_speed.py's business, not a test's)
    budgets = [p.max_new_tokens for _, p in requests]
    assert any(len(t) == n for t, n in zip(alone, budgets)) and any(len(t) < n for t, n in zip(alone, budgets))
    # the public path gives the generations generate() would (text, counts, finish), and the stop-string row
    # really stopped at its stop string
    batched = smollm.generate_batch(requests)
    single = [smollm._generation(t, p, len(ids), 0.0) for t, (ids, p) in zip(alone, rows)]
    assert [(g.text, g.prompt_tokens, g.completion_tokens, g.finish_reason) for g in batched] == [
        (g.text, g.prompt_tokens, g.completion_tokens, g.finish_reason) for g in single]
    assert batched[4].finish_reason == "stop" and batched[4].completion_tokens < 20


SHOTS = [  # few-shot turns several prompts share, as a condition's examples and system prompt are shared
    {"role": "system", "content": "Answer the question in a few words."},
    {"role": "user", "content": "What colour is the sky on a clear day?"}, {"role": "assistant", "content": "blue"},
    {"role": "user", "content": "How many legs does a spider have?"}, {"role": "assistant", "content": "eight"},
]


@pytest.mark.slow
def test_batched_prompts_sharing_a_prefix_compute_it_once_and_decode_as_alone(smollm, monkeypatch):
    """Rows sharing a few-shot prefix take its keys and values from one another instead of prefilling it again,
    and rows ending at different steps leave the batch along the way: the tokens stay those of a lone decode."""
    questions = [("What is the capital of Italy?", 3), ("Name a large ocean.", 40), ("Who wrote Hamlet?", 9),
                 ("What do bees make?", 1), ("Describe a forest in detail.", 32), ("What is two plus two?", 5),
                 ("Name a planet.", 24), ("What do cows drink?", 2)]
    requests = [([*SHOTS, {"role": "user", "content": q}], GenerationParams(max_new_tokens=n)) for q, n in questions]
    alone = [smollm._new_tokens(messages, params)[1] for messages, params in requests]
    assert len({len(t) for t in alone}) >= 5  # rows end at many different steps
    tokenizer, model, _ = smollm._load()
    rows = [(tokenizer(render_prompt(tokenizer, m), add_special_tokens=False)["input_ids"], p) for m, p in requests]
    shared = min(len(os.path.commonprefix([ids for ids, _ in rows])), *(len(ids) - 1 for ids, _ in rows))
    assert shared > 40
    prefilled: list[int] = []
    forward = model.forward

    def counting(*args, **kwargs):
        if kwargs["input_ids"].shape[1] > 1:
            prefilled.append(kwargs["input_ids"].shape[1])
        return forward(*args, **kwargs)

    monkeypatch.setattr(model, "forward", counting)
    assert smollm._batch_new_tokens(rows) == alone
    assert len(prefilled) == len(rows)
    assert sum(prefilled) <= sum(len(ids) for ids, _ in rows) - (len(rows) - 1) * shared


@pytest.mark.slow
def test_a_bfloat16_model_computes_in_bfloat16_and_says_so(smollm):
    """The opt-in precision: the weights are bfloat16, the identity (and so the audit record and an evaluation
    run's key) names it, and its answers are as reproducible as float32's — the same text every time, streamed or
    not, and the same batch decodes to the same tokens every time (not necessarily a lone decode's: see
    generate_batch)."""
    import torch

    half = LocalGenerator(dtype="bfloat16")
    _, model, _ = half._load()
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    assert half.identity.extra == {"dtype": "bfloat16"} and half.identity.dtype == "bfloat16"
    assert smollm.identity.extra == {} and smollm.identity.dtype == "float32"
    assert half.identity.model_hash == smollm.identity.model_hash  # the same weights, computed otherwise
    messages = [{"role": "user", "content": "Name a colour."}]
    params = GenerationParams(max_new_tokens=12)
    first = half.generate(messages, params)
    assert first.text and first.text == half.generate(messages, params).text
    assert "".join(half.stream(messages, params)).strip() == first.text
    requests = [([{"role": "user", "content": text}], GenerationParams(max_new_tokens=n, stop=stop))
                for text, n, stop in BATCH_PROMPTS]
    assert [g.text for g in half.generate_batch(requests)] == [g.text for g in half.generate_batch(requests)]


def test_an_unknown_precision_is_refused_before_anything_loads(tmp_path: Path):
    with pytest.raises(ModelError, match="model dtype 'int4'"):
        LocalGenerator(tmp_path / "nope", dtype="int4")
