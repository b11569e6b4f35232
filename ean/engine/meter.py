"""The running sums of a training epoch on one process, and their totals over all processes."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterable

import torch

from ean.data.loader import SkipCounter
from ean.engine import distributed


@dataclass
class EpochTotals:
    """An epoch's training numbers summed over all processes."""

    loss: float          # mean cross-entropy per counted clip
    top1: float          # % of counted clips predicted right
    clips: int           # clips that counted (an fp16 update skipped for a non-finite loss does not)
    skipped: int         # unreadable videos left out of the batches
    seconds: float       # this process's time in the epoch's steps (across a resume too)
    skips: SkipCounter   # the global counts, with this process's (index, reason) list


class EpochMeter:
    """This process's running sums over the steps of the current epoch.

    The loss and correct-prediction sums are 0-dim tensors on the training device (float64 and
    int64), so that counting a step reads nothing back from it; unreadable videos are counted
    by a :class:`~ean.data.loader.SkipCounter`. A mid-epoch checkpoint holds
    :meth:`state_dict`, one row per process; :meth:`merge` folds the rows that another number of
    processes wrote.
    """

    def __init__(self, max_skip_fraction: float = 0.01) -> None:
        self.loss_sum = torch.zeros((), dtype=torch.float64)   # sum of loss x clips over counted steps
        self.correct = torch.zeros((), dtype=torch.int64)      # correct top-1 predictions
        self.clips = 0                                         # clips counted
        self.skips = SkipCounter(max_skip_fraction)            # unreadable videos: count, (index, reason)
        self.active = False          # an epoch is being counted (its sums belong in a checkpoint)
        self._spent = 0.0            # seconds of this epoch before start() (a resumed epoch)
        self._t0 = time.time()       # when the epoch would have started, had it run without a break

    def _set(self, loss_sum: float, correct: int, clips: int, skipped: int, seconds: float) -> None:
        self.loss_sum = torch.tensor(float(loss_sum), dtype=torch.float64)
        self.correct = torch.tensor(int(correct), dtype=torch.int64)
        self.clips = int(clips)
        self.skips.reset()
        self.skips.add(self.clips + int(skipped), skipped)
        self._spent = float(seconds)

    def start(self, device: torch.device, carry_on: bool) -> None:
        """Begin counting an epoch on ``device``: from zero, or (``carry_on``: the epoch is partly
        done) from the sums :meth:`load_state_dict` restored, if it restored any."""
        if not (carry_on and self.active):
            self._set(0.0, 0, 0, 0, 0.0)
        self.loss_sum = self.loss_sum.to(device)
        self.correct = self.correct.to(device)
        self.active = True
        self._t0 = time.time() - self._spent

    def add(self, loss: torch.Tensor, correct: torch.Tensor, clips: int) -> None:
        """Count one step: ``loss`` its mean loss (0-dim) over ``clips`` clips, ``correct`` (0-dim
        int64) how many of them were predicted right. A step of 0 clips counts for nothing."""
        if clips:
            self.loss_sum += loss.double() * clips
            self.correct += correct
            self.clips += clips

    def finish(self) -> None:
        """The epoch is complete: nothing of it goes into a checkpoint any more."""
        self.active = False

    def elapsed(self) -> float:
        return time.time() - self._t0

    def postfix(self, lr: float, world_size: int) -> dict[str, str]:
        """Running loss, accuracy, learning rate and throughput for the progress bar (reads the sums)."""
        seen = max(self.clips, 1)
        return {"loss": f"{float(self.loss_sum) / seen:.4f}", "acc": f"{100.0 * int(self.correct) / seen:.1f}",
                "lr": f"{lr:.2e}", "clips_s": f"{self.clips * world_size / max(self.elapsed(), 1e-9):.1f}"}

    def totals(self, info: distributed.DistInfo, device: torch.device) -> EpochTotals:
        """The sums over all processes (a collective: every process calls it)."""
        loss, correct, clips, skipped = distributed.all_reduce_sum(
            [float(self.loss_sum), int(self.correct), self.clips, self.skips.skipped], info, device)
        skips = SkipCounter(self.skips.max_fraction)
        skips.add(int(clips) + int(skipped), int(skipped))
        skips.reasons = list(self.skips.reasons)   # this process's; the counts are global
        return EpochTotals(loss=loss / max(clips, 1), top1=100.0 * correct / max(clips, 1), clips=int(clips),
                           skipped=int(skipped), seconds=self.elapsed(), skips=skips)

    def state_dict(self) -> list | None:
        """``[loss_sum, correct, clips, skipped, seconds]`` as numbers; None outside an epoch."""
        if not self.active:
            return None
        return [self.loss_sum.item(), self.correct.item(), self.clips, self.skips.skipped, self.elapsed()]

    def load_state_dict(self, state: list | None) -> None:
        """The sums of a partly done epoch (from :meth:`state_dict` or :meth:`merge`); None: none."""
        self.active = state is not None
        if state is not None:
            self._set(*state)

    @staticmethod
    def merge(states: Iterable[list | None], rank: int) -> list | None:
        """The sums that another number of processes wrote (one :meth:`state_dict` each), for
        ``rank`` of this run: rank 0 carries their totals, every other rank starts from zero (the
        elapsed time is the longest)."""
        rows = [list(r) for r in states if r is not None]
        if not rows:
            return None
        seconds = max(float(r[4]) for r in rows)
        if rank != 0:
            return [0.0, 0, 0, 0, seconds]
        return [sum(float(r[0]) for r in rows), sum(int(r[1]) for r in rows), sum(int(r[2]) for r in rows),
                sum(int(r[3]) for r in rows), seconds]
