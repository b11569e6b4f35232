"""The training loop: build everything from a TrainConfig, train, validate, checkpoint, resume.

    from ean.engine.config import load_config
    from ean.engine.loop import train
    summary = train(load_config("configs/study/ean_tiny.yaml"), "runs/ean_tiny", resume=True)

Exactness: on CPU a run killed at any point and resumed ends with the same weights as an
uninterrupted run, because (1) data order and augmentation depend only on (seed, epoch, index)
(ean.data), (2) a checkpoint holds model, optimiser, schedule, scaler and all RNG states at a step
boundary with the position in the epoch (ean.engine.train_state), and (3) nothing else draws from
the global RNG between steps (loader iterators are started with the RNG state saved and restored;
validation runs in eval mode).
"""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ean.engine import distributed, run_log, train_data
from ean.engine.config import TrainConfig
from ean.engine.divergence import NonFiniteGuard
from ean.engine.hardware import (autocast, autocast_dtype, make_grad_scaler, prepare_model, resolve_device,
                                 seed_everything)
from ean.engine.meter import EpochMeter, EpochTotals
from ean.engine.optim import LRSchedule, build_optimizer
from ean.engine.preemption import StopFlag, TrainingInterrupted
from ean.engine.run_dir import check_run_dir
from ean.engine.run_log import RunLog, RunSetup
from ean.engine.scores import EvalResult
from ean.engine.train_data import TrainData
from ean.engine.train_state import Progress, TrainState
from ean.engine.validation import Validator



class Trainer:
    """One training run in RUN_DIR (:func:`train`); :meth:`setup` builds what is ``None`` below."""

    def __init__(self, cfg: TrainConfig, run_dir: str | Path, resume: bool = False,
                 model_factory: Callable[[Any], nn.Module] | None = None) -> None:
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.ckpt_dir = self.run_dir / "checkpoints"
        self.resume = resume
        self.model_factory = model_factory
        self.stop = StopFlag()
        self.run_log = RunLog(self.run_dir)
        self.meter = EpochMeter(cfg.data.max_skip_fraction)
        self.info = distributed.DistInfo()   # this process in the torchrun process group (if any)
        self.device = torch.device("cpu")
        self.dtype: torch.dtype | None = None   # autocast dtype; None: fp32
        self.data: TrainData | None = None
        self.model: nn.Module | None = None     # on the device (DDP-wrapped under torchrun)
        self.forward: Callable[..., torch.Tensor] | None = None   # the model's (compiled) forward
        self.num_params = 0
        self.optimizer: torch.optim.Optimizer | None = None
        self.schedule: LRSchedule | None = None
        self.scaler: torch.amp.GradScaler | None = None
        self.steps_per_epoch = 0
        self.validator: Validator | None = None     # the validations, and what they found
        self.train_state: TrainState | None = None  # writes and restores the checkpoints
        # where the run is, and what it has measured (all in every checkpoint)
        self.epoch, self.batch_in_epoch, self.global_step = 0, 0, 0   # epochs done, batches done of the next
        self.history: list[dict] = []             # metrics.csv rows
        self.guard = NonFiniteGuard(self.ckpt_dir)   # counts the fp16 updates the grad scaler skipped

    def log(self, message: str) -> None:
        if self.info.is_main:
            tqdm.write(message, file=sys.stderr)

    @property
    def progress(self) -> Progress:
        return Progress(self.epoch, self.batch_in_epoch, self.global_step, self.history)

    # ------------------------------------------------------------------------ setup
    def setup(self) -> None:
        cfg, rt = self.cfg, self.cfg.runtime
        if rt.threads:
            torch.set_num_threads(rt.threads)
        self.info = distributed.init_distributed("cuda" if rt.device != "cpu" and torch.cuda.is_available() else "cpu")
        self.device = resolve_device(rt, self.info)
        self.dtype = autocast_dtype(rt, self.device)
        batch_per_rank = train_data.batch_per_rank(cfg.optim.batch_size, self.info)
        if rt.detect_anomaly:
            torch.autograd.set_detect_anomaly(True)
        check_run_dir(self.run_dir, self.ckpt_dir, self.info, self.resume)
        seed_everything(rt.seed)
        self.data = TrainData(cfg, batch_per_rank, self.info)
        if self.model_factory is not None:
            model = self.model_factory(cfg.model)
        else:
            from ean.models.ean import build_model
            # paired runs: a part's initial weights depend only on (seed, its path)
            model = build_model(cfg.model, init_seed=rt.seed)
        self.num_params = sum(p.numel() for p in model.parameters())
        self.model, self.forward = prepare_model(model, rt, self.device, self.info, self.log)
        self.optimizer = build_optimizer(self.model, cfg.optim)
        self.steps_per_epoch = self.data.steps_per_epoch()
        self.schedule = LRSchedule(cfg.optim, self.steps_per_epoch)
        self.scaler = make_grad_scaler(self.device, self.dtype)
        self.run_log.open(self.info.is_main, rt.tensorboard)
        self.validator = Validator(cfg, self.run_dir, self.data, self.model, self.device, self.dtype, self.info)
        self.train_state = TrainState(cfg, self.ckpt_dir, self.info, self.model, self.optimizer, self.schedule,
                                      self.scaler, self.meter, self.validator, self.data.class_names)
        if self.resume and (progress := self.train_state.resume(self.steps_per_epoch, self.log)) is not None:
            self.epoch, self.batch_in_epoch, self.global_step, self.history = progress

    # ------------------------------------------------------------------------ training
    def fit(self) -> dict[str, Any]:
        self.setup()
        cfg = self.cfg
        run = RunSetup(cfg, self.run_dir, self.num_params, self.device, self.dtype, self.info, self.steps_per_epoch)
        self.run_log.config(cfg.to_yaml())
        self.log(run_log.start_message(run))
        self.stop.install()
        started = time.time()
        clips_seen, train_time = 0, 0.0
        try:
            while self.epoch < cfg.optim.epochs and self.global_step < (cfg.runtime.max_steps or math.inf):
                totals, lr = self._train_epoch()
                clips_seen += totals.clips
                train_time += totals.seconds
                if self.batch_in_epoch < self.steps_per_epoch:  # stopped mid-epoch (max_steps)
                    self.train_state.save(self.progress, epoch_end=False)
                    break
                self._end_epoch(totals, lr)
        finally:
            self.stop.restore()
            self.run_log.close()
        if self.epoch >= cfg.optim.epochs:
            self.validator.final_protocols(self.epoch, self.log)
        summary = run_log.run_summary(run, self.progress, self.validator.best, self.validator.last_eval,
                                      self.validator.protocol_results, self.guard.skipped_updates,
                                      time.time() - started, clips_seen, train_time)
        self.run_log.summary(summary)
        self.log(run_log.done_message(summary))
        distributed.barrier(self.info)
        return summary

    def _train_epoch(self) -> tuple[EpochTotals, float]:
        """The rest of the current epoch; returns its totals and the last step's learning rate."""
        cfg, total, meter = self.cfg, self.steps_per_epoch, self.meter
        if self.stop.anywhere(self.info, self.device):  # e.g. at the last epoch's end: before starting workers
            self._interrupt(f"{'before ' if self.batch_in_epoch == 0 else ''}epoch {self.epoch + 1}")
        self.model.train()
        try:
            iterator = self.data.start_epoch(self.epoch, self.batch_in_epoch)
        except Exception as exc:
            iterator = self.stop.loader_failed(exc, self.log, self.global_step)
        bar = tqdm(total=total, initial=self.batch_in_epoch, desc=f"epoch {self.epoch + 1}/{cfg.optim.epochs}",
                   dynamic_ncols=True, disable=not (cfg.runtime.progress and self.info.is_main), leave=True)
        meter.start(self.device, carry_on=self.batch_in_epoch > 0)
        # the lr reported if no step runs here (resumed after the epoch's last step: that step's lr)
        lr = self.schedule.factor(self.global_step - (1 if self.batch_in_epoch else 0)) * cfg.optim.lr
        params = [p for p in self.model.parameters() if p.requires_grad]
        try:
            while self.batch_in_epoch < total and self.global_step < (cfg.runtime.max_steps or math.inf):
                batch = self._next_batch(iterator)
                stop, empty = self.stop.synced(self.info, self.device, batch is None or batch["clip"] is None)
                if stop:  # at a step boundary: this batch is fetched again on resume
                    self._interrupt(f"epoch {self.epoch + 1}")
                meter.skips.update(batch)
                loss = None
                if empty:  # every video of the batch was unreadable (on some rank): no update
                    for index, reason in batch.get("skipped", [])[:3]:
                        self.log(f"warning: step {self.global_step + 1}: unreadable video {index}: {reason}")
                else:
                    lr = self.schedule.step(self.optimizer, self.global_step)
                    loss, correct, n = self._step(self.forward, params, batch["clip"], batch["label"],
                                                  batch.get("boxes"))
                    meter.add(loss, correct, n)
                self.global_step += 1
                self.batch_in_epoch += 1
                bar.update(1)
                if self.batch_in_epoch % cfg.runtime.log_every == 0 or self.batch_in_epoch == total:
                    bar.set_postfix(meter.postfix(lr, self.info.world_size))
                    self.run_log.step(self.epoch + 1, self.global_step, float("nan" if loss is None else loss), lr)
                every = cfg.runtime.checkpoint_every_steps
                if every and self.global_step % every == 0 and self.batch_in_epoch < total:
                    self.train_state.save(self.progress, epoch_end=False)
        finally:
            bar.close()
            del iterator
        if self.batch_in_epoch >= total:
            meter.finish()
        return meter.totals(self.info, self.device), lr

    def _next_batch(self, iterator) -> dict | None:
        try:
            return next(iterator) if iterator is not None else None
        except StopIteration:
            raise RuntimeError(f"the training loader ended after {self.batch_in_epoch} of {self.steps_per_epoch} "
                               f"batches in epoch {self.epoch + 1}") from None
        except Exception as exc:
            return self.stop.loader_failed(exc, self.log, self.global_step)

    def _interrupt(self, where: str) -> None:
        """Stop at this step boundary: a checkpoint (unless the newest is of this step), then
        :class:`TrainingInterrupted`. After an epoch's last step a resumed run validates first."""
        if self.train_state.saved_step != self.global_step:
            self.train_state.save(self.progress, epoch_end=False)
        raise TrainingInterrupted(f"stopped by signal at step {self.global_step} ({where}); a checkpoint was "
                                  f"written to {self.ckpt_dir}; continue with --resume")

    def _step(self, forward, params, clips, labels, boxes=None) -> tuple[torch.Tensor, torch.Tensor, int]:
        """One update: forward, backward, clip, step. ``clips`` ``(B, 3, T*L, H, W)`` uint8 (or float32
        normalised), ``labels`` ``(B,)``, ``boxes`` ``(B, T*L, N, 4)`` for ``soi.regions = "boxes"``.
        Returns loss and correct predictions (0-dim, on the device) and the clips that count (0: an fp16
        update skipped for a non-finite loss). No collective; one host sync (fp32/bf16: is the
        all-reduced gradient norm finite? A non-finite loss on any process makes it so everywhere)."""
        cfg, opt, scaler = self.cfg, self.optimizer, self.scaler
        clips = clips.to(self.device, non_blocking=True)
        if clips.dtype == torch.uint8:   # as the loader gives them: normalised here, on the device
            clips = self.data.normalize(clips)
        labels = labels.to(self.device, non_blocking=True)
        with autocast(self.device, self.dtype):
            if boxes is None:
                logits = forward(clips)
            else:
                logits = forward(clips, boxes=boxes.to(self.device, non_blocking=True))
        logits = logits.float()
        loss = F.cross_entropy(logits, labels, label_smoothing=cfg.optim.label_smoothing)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()   # every process takes part, whatever its loss
        if scaler.is_enabled():
            if cfg.optim.clip_grad_norm:
                scaler.unscale_(opt)
                torch.nn.utils.clip_grad_norm_(params, cfg.optim.clip_grad_norm)
            scale = scaler.get_scale()
            scaler.step(opt)
            scaler.update()
            # the scale goes down exactly when the scaler found inf/NaN gradients and skipped the
            # update (the same on every DDP process: the gradients are all-reduced first)
            if (new_scale := scaler.get_scale()) < scale:
                loss_value = float(loss.detach())
                self.guard.update_skipped(loss_value, new_scale, self.progress, self.log, self.run_log.line)
                if not math.isfinite(loss_value):   # its loss and predictions count for nothing
                    return loss.detach(), torch.zeros((), dtype=torch.int64, device=self.device), 0
            else:
                self.guard.update_ok()
        else:
            # max_norm = inf measures without clipping (the gradients are multiplied by exactly 1)
            norm = torch.nn.utils.clip_grad_norm_(params, cfg.optim.clip_grad_norm or math.inf)
            if not torch.isfinite(norm):
                raise self.guard.refused(float(loss.detach()), norm, self.progress)
            opt.step()
        correct = (logits.detach().argmax(dim=1) == labels).sum()
        return loss.detach(), correct, int(labels.shape[0])

    # ------------------------------------------------------------------------ epoch end
    def _validate(self, full: bool) -> EvalResult:
        """Validate the epoch just trained (``full``: every video, else ``eval.subset``), unless stopped."""
        epoch_done = self.epoch + 1
        if self.stop.anywhere(self.info, self.device):  # a stop does not wait for a validation
            self._interrupt(f"before validating epoch {epoch_done}")
        try:
            return self.validator.validate(epoch_done, full)
        except Exception:
            if self.stop.signal is None:   # else: the stop reached the validation loader's workers too
                raise
            self._interrupt(f"while validating epoch {epoch_done}")

    def _end_epoch(self, totals: EpochTotals, lr: float) -> None:
        """Validate when due, then the epoch checkpoint and logs; too many unreadable videos: stop."""
        epoch_done = self.epoch + 1
        row = run_log.epoch_row(epoch_done, self.global_step, lr, totals)
        do_eval, full = self.validator.due(epoch_done)
        is_best = do_eval and self.validator.record(epoch_done, self._validate(full), full, row)
        self.history.append(row)
        self.epoch, self.batch_in_epoch = epoch_done, 0
        path = self.train_state.save(self.progress, epoch_end=True, is_best=is_best)
        if totals.skipped:
            self.log(totals.skips.report())
        message = run_log.epoch_message(row, self.cfg.optim.epochs, totals, full, is_best)
        self.run_log.epoch(self.history, message)
        if self.info.is_main:   # (rank 0 wrote the checkpoint)
            self.log(message + f" | {row['train_clips_per_s'] or 0:.1f} clips/s -> {path.name}")
        totals.skips.check()  # too many unreadable videos: stop (after the checkpoint)


def train(cfg: TrainConfig, run_dir: str | Path, resume: bool = False,
          model_factory: Callable[[Any], nn.Module] | None = None) -> dict[str, Any]:
    """Train (or resume) a run; returns the summary (also written to RUN_DIR/summary.json)."""
    trainer = Trainer(cfg, run_dir, resume, model_factory)
    try:
        return trainer.fit()
    finally:
        distributed.cleanup(trainer.info)
