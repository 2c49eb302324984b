"""Fine-tuning through the real CLI with the real bundled model: train → registry → promote/rollback → ask,
diagnose and the audit log use the adapter → status → export (slow; a few training steps only)."""

from __future__ import annotations

import json

import pytest
from tests.cli.test_cli import assert_user_error, ragtune
from tests.conftest import DATA, write


@pytest.fixture
def e2e_sample(tmp_path):
    if not (DATA / "e2e_dev.jsonl").exists():
        pytest.skip("shared e2e data not found")
    lines = (DATA / "e2e_dev.jsonl").read_text().splitlines()
    return write(tmp_path / "train.jsonl", "\n".join(lines[:60]) + "\n"), \
        write(tmp_path / "eval.jsonl", "\n".join(lines[-4:]) + "\n")


def test_bad_training_data_stops_training_before_any_model_loads(home, tmp_path):
    bad = write(tmp_path / "bad.jsonl", '{"input": "a", "output": "x"}\n' * 3)
    assert_user_error(ragtune(home, "finetune", "--train", str(bad)), "--force")
    assert not (home / "adapters").exists() or not any((home / "adapters").glob("*-v*"))


def test_promoting_an_unknown_adapter_is_a_user_error(home):
    assert_user_error(ragtune(home, "adapters", "promote", "nope-v1"), "not in the registry")


@pytest.mark.slow
def test_train_register_promote_use_and_roll_back_an_adapter(home, tmp_path, e2e_sample):
    train, held_out = e2e_sample
    result = ragtune(home, "finetune", "--train", str(train), "--eval", str(held_out), "--name", "e2e",
                     "--epochs", "0.3", "--rank", "4", "--eval-limit", "2", "--force", "--json")
    assert result.returncode == 0, result.stderr
    trained = json.loads(result.stdout)
    assert trained["id"] == "e2e-v1"
    assert trained["training"]["steps"] == trained["training"]["total_steps"] >= 1
    assert set(trained["evaluation"]["conditions"]) == {"closed_book", "few_shot", "adapter"}
    assert "adapter_vs_few_shot" in trained["evaluation"]

    listed = json.loads(ragtune(home, "adapters", "list", "--json").stdout)
    entry = listed["adapters"][0]
    assert {"id", "name", "created", "promoted", "metrics"} <= set(entry) and entry["promoted"] is False
    shown = json.loads(ragtune(home, "adapters", "show", "e2e-v1", "--json").stdout)
    assert shown["base_model"]["id"] == "SmolLM2-135M-Instruct" and shown["data"]["n_train"] == 60
    assert shown["hyperparameters"]["r"] == 4 and len(shown["data"]["train_sha256"]) == 64

    # the gate follows the measured paired CI: refused (unless forced) when it does not clear zero, else promoted
    promoted = ragtune(home, "adapters", "promote", "e2e-v1")
    if trained["evaluation"]["adapter_vs_few_shot"]["ci95"][0] <= 0:
        assert_user_error(promoted, "does not beat base few-shot", "--force")
        assert ragtune(home, "adapters", "promote", "e2e-v1", "--force").returncode == 0
    else:
        assert promoted.returncode == 0, promoted.stderr
    assert json.loads(ragtune(home, "adapters", "list", "--json").stdout)["promoted"] == "e2e-v1"

    # the promoted adapter answers and the audit log names it
    asked = ragtune(home, "ask", "Blue Spice is a coffee shop in the city centre.", "--no-retrieval", "--json")
    assert asked.returncode == 0, asked.stderr
    record = json.loads(ragtune(home, "audit", "show", json.loads(asked.stdout)["audit_id"], "--json").stdout)
    assert record["model"]["adapter_id"] == "e2e-v1" and record["model"]["ref"]["adapter_id"] == "e2e-v1"
    assert ragtune(home, "audit", "replay", json.loads(asked.stdout)["audit_id"], "--json").returncode == 0

    # diagnose runs the adapter condition with the promoted adapter
    diagnosed = ragtune(home, "diagnose", "--qa", str(held_out), "--limit", "2", "--json")
    assert diagnosed.returncode == 0, diagnosed.stderr
    assert "adapter" in json.loads(diagnosed.stdout)["conditions"]

    status = json.loads(ragtune(home, "adapters", "status", "--json").stdout)
    # nothing moved since training: no corpus was recorded and the latest adapter run (diagnose, same held-out
    # items, same greedy decoding) scores what training recorded
    assert status["id"] == "e2e-v1" and "thresholds" in status
    assert status["retrain"] is False and status["reasons"] == [], status

    exported = ragtune(home, "adapters", "export", "e2e-v1", "--merged", str(tmp_path / "merged"), "--json")
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "merged" / "config.json").exists()

    rolled = json.loads(ragtune(home, "adapters", "rollback", "--json").stdout)
    assert rolled["promoted"] is None
    assert json.loads(ragtune(home, "adapters", "list", "--json").stdout)["promoted"] is None


def test_the_first_ctrl_c_asks_training_to_stop_and_the_second_aborts():
    import os
    import signal

    from ragtune.cli.finetune import stop_on_interrupt

    before = signal.getsignal(signal.SIGINT)  # default_int_handler, or SIG_IGN when run as a background job
    with stop_on_interrupt() as stop_requested:
        assert not stop_requested()
        os.kill(os.getpid(), signal.SIGINT)
        assert stop_requested()  # training sees this between steps and saves a checkpoint
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before  # the previous handler is back
