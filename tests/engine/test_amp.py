"""fp16: a non-finite loss or gradient lets the grad scaler skip the update instead of
stopping the run; only many such updates in a row (or any without a scaler) stop it.

CPU autocast has no fp16 grad scaler in the trainer (``runtime.precision=fp16`` needs CUDA),
so these tests drive ``Trainer._step`` with a CPU ``torch.amp.GradScaler`` in fp32 arithmetic:
the scaler's decisions are the same as on a GPU."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from ean.engine.config import build_config
from ean.engine.distributed import DistInfo
from ean.engine.divergence import NonFiniteGuard
from ean.engine.divergence import MAX_NONFINITE_STEPS, TrainingDiverged
from ean.engine.loop import Trainer
from ean.engine.train_state import Progress

from .conftest import make_raw_config


class Flaky(nn.Module):
    """A linear classifier whose logits are infinite while ``poison`` is set."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(12, 4)
        self.poison = False

    def forward(self, x):
        out = self.fc(x.flatten(1))
        return out * float("inf") if self.poison else out


def _trainer(tmp_path, scaler_enabled: bool, **optim) -> tuple[Trainer, Flaky]:
    cfg = build_config(make_raw_config(tmp_path, optim=optim))
    trainer = Trainer(cfg, tmp_path / "run")
    trainer.run_dir.mkdir(parents=True)
    model = Flaky()
    trainer.info, trainer.device, trainer.dtype = DistInfo(), torch.device("cpu"), None
    trainer.log = lambda message: None
    trainer.model = model
    trainer.optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    trainer.scaler = torch.amp.GradScaler("cpu", init_scale=1024.0, enabled=scaler_enabled)
    trainer.global_step = trainer.epoch = trainer.batch_in_epoch = 0
    return trainer, model


def _step(trainer: Trainer, model: Flaky):
    g = torch.Generator().manual_seed(trainer.global_step)
    clips, labels = torch.randn(4, 3, 4, generator=g), torch.tensor([0, 1, 2, 3])
    out = trainer._step(model, list(model.parameters()), clips, labels)
    trainer.global_step += 1
    return out


@pytest.mark.parametrize("clip", [None, 20.0])
def test_fp16_nonfinite_loss_skips_the_update(tmp_path, clip):
    trainer, model = _trainer(tmp_path, scaler_enabled=True, clip_grad_norm=clip)
    before = [p.detach().clone() for p in model.parameters()]
    model.poison = True
    loss, correct, n = _step(trainer, model)                     # old code: TrainingDiverged
    assert not torch.isfinite(torch.as_tensor(loss)) and (correct, n) == (0, 0)  # counts for nothing
    assert all(torch.equal(a, p) for a, p in zip(before, model.parameters()))  # no update
    assert trainer.scaler.get_scale() == 512.0 and trainer.guard.skipped_updates == 1
    assert "skipped the update" in (trainer.run_dir / "train.log").read_text()
    model.poison = False
    loss, correct, n = _step(trainer, model)
    assert n == 4 and torch.isfinite(torch.as_tensor(loss))
    assert not torch.equal(before[0], model.fc.weight)          # this one updates
    assert trainer.guard.nonfinite_run == 0 and trainer.guard.skipped_updates == 1


def test_fp16_finite_loss_with_overflowing_gradients_is_skipped_and_counted(tmp_path):
    trainer, model = _trainer(tmp_path, scaler_enabled=True)
    handle = model.fc.weight.register_hook(lambda g: g * float("inf"))
    before = model.fc.weight.detach().clone()
    loss, _, n = _step(trainer, model)
    handle.remove()
    assert n == 4 and torch.isfinite(torch.as_tensor(loss))    # the loss itself was fine
    assert torch.equal(before, model.fc.weight) and trainer.guard.skipped_updates == 1


def test_fp16_stops_after_many_nonfinite_steps_in_a_row_and_fp32_at_the_first(tmp_path):
    trainer, model = _trainer(tmp_path, scaler_enabled=True)
    model.poison = True
    for _ in range(MAX_NONFINITE_STEPS - 1):
        _step(trainer, model)
    assert trainer.guard.nonfinite_run == MAX_NONFINITE_STEPS - 1
    with pytest.raises(TrainingDiverged, match=f"{MAX_NONFINITE_STEPS} updates in a row"):
        _step(trainer, model)
    # without a grad scaler (fp32, bf16) nothing would skip the update: stop at once
    trainer, model = _trainer(tmp_path / "fp32", scaler_enabled=False)
    model.poison = True
    with pytest.raises(TrainingDiverged, match="the loss became"):
        _step(trainer, model)


def test_the_guard_names_the_update_after_where_training_is(tmp_path):
    """The guard counts skipped updates and words its messages from a Progress and ckpt_dir alone."""
    guard, lines = NonFiniteGuard(tmp_path / "checkpoints"), []
    at = Progress(epoch=2, batch_in_epoch=4, global_step=10, history=[])
    guard.update_skipped(float("nan"), 512.0, at, lines.append, lines.append)
    assert (guard.skipped_updates, guard.nonfinite_run) == (1, 1)
    assert lines[0] == "warning: " + lines[1] and "the loss was nan at step 11 (epoch 3)" in lines[1]
    guard.update_ok()
    assert (guard.skipped_updates, guard.nonfinite_run) == (1, 0)
    error = guard.refused(1.0, torch.tensor(float("inf")), at)
    assert "the gradient norm became inf at step 11 (epoch 3, batch 5)" in str(error)
    assert str(tmp_path / "checkpoints") in str(error)
