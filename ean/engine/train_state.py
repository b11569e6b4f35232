"""What a training checkpoint holds, and how a run continues from one (``--resume``).

A training checkpoint (``ean.engine.checkpoint.TRAINING_KEYS``) is written at a step boundary:

    model, optimizer, scheduler, scaler   the state_dicts (scaler: {} without fp16)
    model_config, class_names, config     what the run trains, and its whole TrainConfig
    epoch, batch_in_epoch, global_step    epochs done, batches done of the next one, steps done
    rng                                   rank 0's RNG states; under DDP also {"ranks": {rank: states}}
    metrics                               {"history": metrics.csv rows, "best", "last_eval",
                                           "partial_epoch": {rank: EpochMeter.state_dict()}}
    world_size                            the processes that wrote it

Resuming with another number of processes re-shards the epoch (see :meth:`TrainState.load_state_dict`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NamedTuple

import torch
from torch import nn

from ean.errors import UserError
from ean.engine import checkpoint as ckpt
from ean.engine import distributed
from ean.engine.config import TrainConfig, config_diff
from ean.engine.distributed import DistInfo
from ean.engine.meter import EpochMeter
from ean.engine.optim import LRSchedule
from ean.engine.validation import Validator

# Settings that may change when a run is resumed (they do not change the maths).
RESUMABLE_CHANGES = ("data.root", "data.num_workers", "data.pin_memory", "data.decode_threads",
                     "data.prefetch_factor", "eval.batch_size", "runtime.progress", "runtime.log_every",
                     "runtime.tensorboard", "runtime.keep_checkpoints", "runtime.checkpoint_every_steps",
                     "runtime.max_steps", "runtime.device", "runtime.detect_anomaly")


class Progress(NamedTuple):
    """Where a run is: epochs done, batches done of the next epoch, steps done, and the metrics.csv
    rows so far."""
    epoch: int
    batch_in_epoch: int
    global_step: int
    history: list[dict]


@dataclass(eq=False)
class TrainState:
    """The parts of a run that a training checkpoint holds besides its :class:`Progress`, and how
    they are written and restored; ``saved_step``: the global step of the newest checkpoint
    (written or resumed)."""
    cfg: TrainConfig
    ckpt_dir: Path
    info: DistInfo
    model: nn.Module
    optimizer: torch.optim.Optimizer
    schedule: LRSchedule
    scaler: torch.amp.GradScaler
    meter: EpochMeter
    validator: Validator
    class_names: list[str]
    saved_step: int | None = None

    def state_dict(self, progress: Progress) -> dict[str, Any]:
        """The checkpoint of the step ``progress`` is at (a collective: every rank calls it)."""
        rng = ckpt.rng_state()
        partial = self.meter.state_dict()
        partials = {"0": partial}
        if self.info.enabled:  # every rank's RNG state (dropout differs per rank) and running sums
            states = distributed.all_gather_objects((rng, partial), self.info)
            rng = dict(states[0][0])
            rng["ranks"] = {str(r): s[0] for r, s in enumerate(states)}
            partials = {str(r): s[1] for r, s in enumerate(states)}
        return {
            "model": self.model.state_dict(),
            "model_config": self.cfg.model.to_dict(),
            "class_names": self.class_names,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.schedule.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else {},
            "rng": rng,
            "epoch": progress.epoch,
            "batch_in_epoch": progress.batch_in_epoch,
            "global_step": progress.global_step,
            "config": self.cfg.to_dict(),
            "metrics": {"history": progress.history, "best": self.validator.best,
                        "last_eval": self.validator.last_eval, "partial_epoch": partials},
            "world_size": self.info.world_size,
        }

    def save(self, progress: Progress, epoch_end: bool, is_best: bool = False) -> Path | None:
        """Write the checkpoint of the step ``progress`` is at (every rank calls it; rank 0 writes
        it and gets its path): ``epochNNN_stepNNNNNNNN.pt`` at an epoch's end, else ``stepNNNNNNNN.pt``."""
        state = self.state_dict(progress)
        self.saved_step = progress.global_step
        if not self.info.is_main:
            return None
        name = ckpt.checkpoint_name(progress.global_step, progress.epoch if epoch_end else None)
        path = ckpt.save_checkpoint(state, self.ckpt_dir / name)
        if is_best:
            ckpt.link_checkpoint(path, self.ckpt_dir / "best.pt")
        ckpt.prune_checkpoints(self.ckpt_dir, self.cfg.runtime.keep_checkpoints)
        return path

    def resume(self, steps_per_epoch: int, log: Callable[[str], None]) -> Progress | None:
        """Continue from the newest usable checkpoint in RUN_DIR/checkpoints (rank 0 picks it; none
        yet: start from scratch, None); the config may differ only in RESUMABLE_CHANGES. ``log``
        writes a console line."""
        ckpt_dir, info = self.ckpt_dir, self.info
        path, state, bad = (None, None, [])
        if info.is_main:
            path, state, bad = ckpt.find_resume_checkpoint(ckpt_dir)
            for bad_path, reason in bad:
                log(f"warning: skipping unusable checkpoint: {reason}")
            if path is None and bad:
                raise UserError(f"--resume: no usable checkpoint in {ckpt_dir}; "
                                f"all {len(bad)} are corrupt (newest: {bad[0][1]})")
        path = distributed.broadcast_object(str(path) if path else None, info)
        if path is None:
            log(f"--resume: no checkpoint in {ckpt_dir} yet; starting from scratch")
            return None
        if state is None:
            state = ckpt.load_checkpoint_file(path, "cpu", ckpt.TRAINING_KEYS)
        changed = [k for k in config_diff(state["config"], self.cfg.to_dict()) if k not in RESUMABLE_CHANGES]
        if changed:
            raise UserError(f"--resume: the config differs from the one {Path(path).name} was trained with "
                            f"in {', '.join(changed)}; resume with the same settings or start a new --out")
        progress = self.load_state_dict(state, path, log)
        log(f"resumed from {path} (epoch {progress.epoch}, batch {progress.batch_in_epoch} of "
            f"{steps_per_epoch}, step {progress.global_step})")
        return progress

    def load_state_dict(self, state: dict[str, Any], path: str, log: Callable[[str], None]) -> Progress:
        """Put the training checkpoint ``state`` (read from ``path``) into the parts, for this
        process's rank; returns the progress it holds."""
        name = Path(path).name
        saved_world = saved_world_size(state)
        world = self.info.world_size
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        try:
            self.schedule.load_state_dict(state["scheduler"])
        except ValueError as exc:
            more = (f" ({name} was written by {saved_world} processes, this run has {world})"
                    if saved_world != world else "")
            raise UserError(f"--resume from {path}: {exc}{more}") from None
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        metrics = state.get("metrics", {})
        progress = Progress(int(state["epoch"]), int(state["batch_in_epoch"]), int(state["global_step"]),
                            list(metrics.get("history", [])))
        self.validator.best = metrics.get("best")
        self.validator.last_eval = metrics.get("last_eval")
        partials = metrics.get("partial_epoch") or {}
        if saved_world == world:
            partial = partials.get(str(self.info.rank))
        else:
            # Another number of processes. The samples of global step k are positions
            # [k*B, (k+1)*B) of the epoch's permutation whatever the number of processes
            # (ean.data.loader.EpochSampler shards them rank-strided), and the steps per epoch do
            # not depend on it either, so the sampler re-shards: each process starts at
            # batch_in_epoch * B / world of its own shard. The running sums of the epoch go to
            # rank 0 (they are summed over the processes at its end).
            partial = EpochMeter.merge(partials.values(), self.info.rank)
            log(f"warning: --resume: {name} was written by {saved_world} process(es), this run "
                f"has {world}: every step sees the same samples (re-sharded over the processes), but "
                f"BatchNorm statistics (per-process batches) and per-process random streams differ, so the "
                f"run is not bit-identical to one that kept {saved_world}")
        self.meter.load_state_dict(list(partial) if partial is not None and progress.batch_in_epoch else None)
        rng = state["rng"]
        rank_rng = rng.get("ranks", {}).get(str(self.info.rank)) if isinstance(rng, dict) else None
        ckpt.set_rng_state(rank_rng or rng)
        self.saved_step = progress.global_step
        return progress


def saved_world_size(state: dict[str, Any]) -> int:
    """The number of processes that wrote a training checkpoint (older ones: from its RNG states)."""
    if state.get("world_size"):
        return int(state["world_size"])
    rng = state.get("rng")
    ranks = rng.get("ranks") if isinstance(rng, dict) else None
    return len(ranks) if ranks else 1
