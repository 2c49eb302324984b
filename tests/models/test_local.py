"""The local transformers generator: clear errors fast, and (slow) the real bundled model."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragtune.errors import ModelError
from ragtune.models.generator import truncate_at_stop
from ragtune.models.local import LocalGenerator
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
