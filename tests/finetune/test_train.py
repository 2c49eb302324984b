"""LoRA training: batching, the held-out split, prompt masking, and a tiny real training run that is interrupted
and resumed (slow: the bundled model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import DATA

from ragtune.config import LoraConfig
from ragtune.errors import ConfigError
from ragtune.finetune.examples import TrainingExample
from ragtune.finetune.train import (
    IGNORE,
    TrainingInterrupted,
    encode,
    epoch_batches,
    split_eval,
    token_counter,
    train_lora,
)


def example(i: int, prompt: str | None = None, completion: str | None = None) -> TrainingExample:
    return TrainingExample(f"e{i}", ({"role": "user", "content": prompt or f"input number {i}"},),
                           completion or json.dumps({"n": i}), i)


def test_every_example_is_in_exactly_one_batch_per_epoch_and_the_order_is_reproducible():
    lengths = [(i * 37) % 90 + 10 for i in range(203)]
    batches = epoch_batches(lengths, 8, epoch=0, seed=1)
    assert sorted(i for b in batches for i in b) == list(range(203))
    assert batches == epoch_batches(lengths, 8, epoch=0, seed=1)  # a resumed run continues the same order
    assert batches != epoch_batches(lengths, 8, epoch=1, seed=1)  # each epoch is shuffled afresh


def test_batches_group_similar_lengths_so_padding_shrinks():
    import random

    rng = random.Random(0)
    lengths = [rng.randint(20, 200) for _ in range(512)]
    grouped = epoch_batches(lengths, 8, 0, 0)
    padded = sum(max(lengths[i] for i in b) * len(b) for b in grouped)
    naive = list(range(512))
    rng.shuffle(naive)
    naive_padded = sum(max(lengths[i] for i in naive[s:s + 8]) * 8 for s in range(0, 512, 8))
    assert padded < 0.9 * naive_padded


def test_the_held_out_split_never_separates_examples_with_the_same_prompt():
    examples = [example(i, prompt=f"prompt {i // 3}") for i in range(60)]
    train, held = split_eval(examples, 0.2, seed=0)
    assert len(train) + len(held) == 60 and 10 <= len(held) <= 15
    assert not {e.prompt[0]["content"] for e in train} & {e.prompt[0]["content"] for e in held}
    assert split_eval(examples, 0.2, seed=0) == (train, held)


def test_lora_settings_are_validated_by_name():
    with pytest.raises(ConfigError, match="learning_rate"):
        LoraConfig(learning_rate=2.0)
    with pytest.raises(ConfigError, match="lora r=0"):
        LoraConfig(r=0)


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from ragtune.models.cache import converted_model_dir

    return AutoTokenizer.from_pretrained(str(converted_model_dir()))


@pytest.mark.slow
def test_only_the_completion_and_its_end_token_are_learned(tokenizer):
    encoded = encode(tokenizer, example(1, "Extract: Blue Spice is a pub.", '{"name": "Blue Spice"}'), 256)
    learned = [t for t, label in zip(encoded.input_ids, encoded.labels) if label != IGNORE]
    assert tokenizer.decode(learned) == '{"name": "Blue Spice"}' + tokenizer.eos_token
    prompt = [t for t, label in zip(encoded.input_ids, encoded.labels) if label == IGNORE]
    assert tokenizer.decode(prompt).endswith("<|im_start|>assistant\n")  # what generation continues from


@pytest.mark.slow
def test_a_long_prompt_loses_its_start_and_keeps_the_whole_completion(tokenizer):
    encoded = encode(tokenizer, example(1, "word " * 400, '{"a": 1}'), 64)
    assert encoded.truncated and len(encoded.input_ids) == 64
    learned = [t for t, label in zip(encoded.input_ids, encoded.labels) if label != IGNORE]
    assert tokenizer.decode(learned).startswith('{"a"')
    count = token_counter(Path(tokenizer.name_or_path))
    assert count(example(1, "word " * 400, '{"a": 1}')) > 400


@pytest.mark.slow
def test_a_tiny_training_run_lowers_eval_loss_and_resumes_after_an_interrupt(tmp_path):
    from ragtune.finetune.examples import read_training_examples
    from ragtune.models.cache import converted_model_dir

    lines = (DATA / "e2e_dev.jsonl").read_text().splitlines()[:40]
    if not lines:
        pytest.skip("shared e2e data not found")
    path = tmp_path / "e2e.jsonl"
    path.write_text("\n".join(lines) + "\n")
    train, held = split_eval(read_training_examples(path), 0.2, seed=0)
    config = LoraConfig(r=4, alpha=8, epochs=1.0, batch_size=8, max_length=128, eval_every=2, patience=0)
    work = tmp_path / "run"
    steps_seen: list[int] = []

    def stop_after_two() -> bool:
        return len(steps_seen) >= 2

    with pytest.raises(TrainingInterrupted, match="checkpoint saved"):
        train_lora(train, held, model_dir=converted_model_dir(), work_dir=work, config=config,
                   on_progress=lambda p: steps_seen.append(p.step), should_stop=stop_after_two)
    assert (work / "checkpoint" / "state.json").exists() and steps_seen == [1, 2]

    resumed_steps: list[int] = []
    result = train_lora(train, held, model_dir=converted_model_dir(), work_dir=work, config=config,
                        on_progress=lambda p: resumed_steps.append(p.step))
    assert result.resumed and resumed_steps[0] == 3 and result.steps == result.total_steps == 4
    assert result.best_eval_loss < result.initial_eval_loss
    assert [h["step"] for h in result.history] == [2, 4]
    assert (result.adapter_dir / "adapter_config.json").exists()
    assert not (work / "checkpoint").exists()  # a finished run leaves no checkpoint behind
