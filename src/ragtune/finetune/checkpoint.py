"""A LoRA training run's state on disk: the resumable checkpoint and the kept (best) adapter.

Both are written to a sibling folder and swapped in, so a crash or Ctrl-C mid-write never leaves a half-written
folder that a later run would trust. A checkpoint holds the LoRA weights, optimizer, schedule and torch RNG state
as torch files plus :class:`RunState` as ``state.json``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ragtune.files import replace_dir

if TYPE_CHECKING:
    import torch
    from peft import PeftModel


@dataclass
class RunState:
    """Where a run is: steps done, the eval-loss record and the seconds spent so far (across resumes)."""

    step: int = 0
    best_eval_loss: float | None = None
    initial_eval_loss: float | None = None
    bad_evals: int = 0  # evaluations since the best one; early stopping counts these
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0


def save_adapter(model: PeftModel, target: Path) -> None:
    replace_dir(target, lambda tmp: model.save_pretrained(str(tmp)))


def exists(folder: Path) -> bool:
    return (folder / "state.json").exists()  # written last, so its presence means the rest is complete


def save(folder: Path, model: PeftModel, optimizer: torch.optim.Optimizer,
         schedule: torch.optim.lr_scheduler.LRScheduler, state: RunState) -> None:
    import torch
    from peft import get_peft_model_state_dict

    def write(tmp: Path) -> None:
        tmp.mkdir()
        torch.save(get_peft_model_state_dict(model), tmp / "lora.pt")
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save(schedule.state_dict(), tmp / "schedule.pt")
        torch.save(torch.get_rng_state(), tmp / "rng.pt")
        (tmp / "state.json").write_text(json.dumps(asdict(state)))

    replace_dir(folder, write)


def restore(folder: Path, model: PeftModel, optimizer: torch.optim.Optimizer,
            schedule: torch.optim.lr_scheduler.LRScheduler) -> RunState:
    """Load a checkpoint into the freshly built model, optimizer and schedule; the torch RNG continues too."""
    import torch
    from peft import set_peft_model_state_dict

    state = RunState(**json.loads((folder / "state.json").read_text()))
    set_peft_model_state_dict(model, torch.load(folder / "lora.pt", weights_only=True))
    optimizer.load_state_dict(torch.load(folder / "optimizer.pt", weights_only=True))
    schedule.load_state_dict(torch.load(folder / "schedule.pt", weights_only=True))
    torch.set_rng_state(torch.load(folder / "rng.pt", weights_only=True))
    return state
