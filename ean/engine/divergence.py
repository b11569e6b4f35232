"""Non-finite losses and gradients, and when they stop a run.

fp32/bf16: a non-finite gradient norm (all-reduced, so the same on every process) refuses the
update and stops the run (:meth:`NonFiniteGuard.refused`). fp16: the grad scaler skips such an
update and lowers its scale (:meth:`NonFiniteGuard.update_skipped`); ``MAX_NONFINITE_STEPS`` of
them in a row stop the run. Either way the last good checkpoint stays the newest.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import torch

if TYPE_CHECKING:
    from ean.engine.train_state import Progress

# Under fp16 the grad scaler skips an update whose loss or gradients are not finite (and lowers
# its scale); this many such updates in a row stop the run as diverged.
MAX_NONFINITE_STEPS = 20


class TrainingDiverged(RuntimeError):
    """The loss (or the gradient norm) became NaN/inf; the message names the step."""


class NonFiniteGuard:
    """Counts the fp16 updates the grad scaler skipped (``skipped_updates``: all of them in this
    process, ``nonfinite_run``: in a row) and decides when non-finite values stop the run. The
    update in question is the one after ``at`` (where training is); the messages name the folder
    of the run's checkpoints, ``ckpt_dir``."""

    def __init__(self, ckpt_dir: Path) -> None:
        self.ckpt_dir = ckpt_dir
        self.skipped_updates = 0
        self.nonfinite_run = 0

    def update_ok(self) -> None:
        """The grad scaler made the update: the run of skipped ones is over."""
        self.nonfinite_run = 0

    def update_skipped(self, loss_value: float, new_scale: float, at: Progress, warn: Callable[[str], None],
                       record: Callable[[str], None]) -> None:
        """Count an fp16 update the grad scaler skipped, ``warn`` about it (console) and ``record``
        it (train.log); too many in a row: :class:`TrainingDiverged`."""
        self.skipped_updates += 1
        self.nonfinite_run += 1
        what = "the gradients were not finite" if math.isfinite(loss_value) else f"the loss was {loss_value}"
        message = (f"fp16: {what} at step {at.global_step + 1} (epoch {at.epoch + 1}): the grad scaler "
                   f"skipped the update and lowered its scale to {new_scale:g} ({self.nonfinite_run} in a row, "
                   f"{self.skipped_updates} in this process so far)")
        warn(f"warning: {message}")
        record(message)
        if self.nonfinite_run >= MAX_NONFINITE_STEPS:
            raise TrainingDiverged(
                f"{self.nonfinite_run} updates in a row had a non-finite loss or gradients under fp16 (the last "
                f"{what.removeprefix('the ')}, at step {at.global_step + 1}, epoch {at.epoch + 1}); training "
                f"stopped. The last good checkpoint is kept in {self.ckpt_dir}. Lower optim.base_lr, enable "
                f"warm-up (optim.warmup_epochs) or use bf16 / fp32")

    def refused(self, loss_value: float, norm: torch.Tensor, at: Progress) -> TrainingDiverged:
        """The error for an update refused (fp32/bf16) for a non-finite loss or gradient norm."""
        what = (f"the loss became {loss_value}" if not math.isfinite(loss_value)
                else f"the gradient norm became {float(norm)}")
        return TrainingDiverged(
            f"{what} at step {at.global_step + 1} (epoch {at.epoch + 1}, batch "
            f"{at.batch_in_epoch + 1}); training stopped before the update. The last good checkpoint "
            f"is kept in {self.ckpt_dir}. Lower optim.base_lr, enable warm-up (optim.warmup_epochs) "
            f"or use fp32")
