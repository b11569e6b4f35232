"""The training loop: build everything from a TrainConfig, train, validate, checkpoint, resume.

    from ean.engine.config import load_config
    from ean.engine.loop import train
    summary = train(load_config("configs/study/ean_tiny.yaml"), "runs/ean_tiny", resume=True)

Exactness: on CPU a run that is killed at any point and resumed ends with the same weights
as an uninterrupted run. That holds because (1) data order and augmentation depend only
on (seed, epoch, index) (ean.data), (2) a checkpoint holds model, optimiser, schedule,
scaler and all RNG states at a step boundary together with the position in the epoch,
and (3) nothing else draws from the global RNG between steps (loader iterators are
created with the RNG state saved and restored; validation runs in eval mode).
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
import signal
import socket
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ean.errors import UserError
from ean.engine import checkpoint as ckpt
from ean.engine import distributed
from ean.engine.config import TrainConfig, config_diff
from ean.engine.evaluate import EvalResult, evaluate, save_scores
from ean.engine.hardware import (autocast, autocast_dtype, make_grad_scaler, prepare_model, resolve_device,
                                 seed_everything)
from ean.engine.optim import LRSchedule, build_optimizer
from ean.data.loader import SkipCounter

# Settings that may change when a run is resumed (they do not change the maths).
RESUMABLE_CHANGES = ("data.root", "data.num_workers", "data.pin_memory", "data.decode_threads",
                     "data.prefetch_factor", "eval.batch_size", "runtime.progress", "runtime.log_every",
                     "runtime.tensorboard", "runtime.keep_checkpoints", "runtime.checkpoint_every_steps",
                     "runtime.max_steps", "runtime.device", "runtime.detect_anomaly")

# Under fp16 the grad scaler skips an update whose loss or gradients are not finite (and lowers
# its scale); this many such updates in a row stop the run as diverged.
MAX_NONFINITE_STEPS = 20
# How long a process waits to see the marker file rank 0 wrote in RUN_DIR (shared file system check).
SHARED_FS_TIMEOUT_S = 10.0

METRIC_FIELDS = ("epoch", "step", "lr", "train_loss", "train_top1", "val_loss", "val_top1", "val_top5",
                 "val_mean_class_acc", "val_videos", "val_subset_top1", "epoch_time_s", "train_clips_per_s")


class TrainingDiverged(RuntimeError):
    """The loss (or the gradient norm) became NaN/inf; the message names the step."""


class TrainingInterrupted(RuntimeError):
    """SIGTERM/SIGINT: a checkpoint was written at the current step and the run stopped."""


def _rank0_print(info):
    def log(message: str) -> None:
        if info.is_main:
            tqdm.write(message, file=sys.stderr)
    return log


class _StopFlag:
    """Set by SIGTERM/SIGINT; checked at step boundaries.

    A scheduler's preemption (and Ctrl-C) signals the whole process group, so the data loader
    workers die with the same signal. DataLoader's own SIGCHLD handler would then raise
    "worker ... is killed by signal: Terminated" wherever the main process happens to be
    (mid-step, or inside a fork of the next loader's workers) — possibly before this
    process's own SIGTERM handler has run. So :meth:`install` wraps that handler: a worker
    killed by SIGTERM or SIGINT counts as the stop itself; any other worker death still
    raises. Once a stop is requested that handler is a no-op until :meth:`restore`, and a
    dead worker shows only as an error where the next batch is fetched, which the loop takes
    as the stop.
    """

    STOPPED_WORKER = re.compile(r"DataLoader worker \(pid \d+\) is killed by signal: (Terminated|Interrupt)")

    def __init__(self) -> None:
        self.signal: int | None = None   # the stop: this process's signal, or its workers'
        self.received = 0                # SIGTERM/SIGINT delivered to this process
        self._previous: dict = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._previous[sig] = signal.signal(sig, self._handle)
        if hasattr(signal, "SIGCHLD"):
            from torch.utils.data._utils import signal_handling

            signal_handling._set_SIGCHLD_handler()   # DataLoader's (once per process), to wrap it now
            loader_handler = signal.getsignal(signal.SIGCHLD)
            self._previous[signal.SIGCHLD] = loader_handler
            if callable(loader_handler):
                signal.signal(signal.SIGCHLD, self._guard(loader_handler))

    def _guard(self, loader_handler):
        def on_child(signum, frame) -> None:
            if self.signal is not None:
                return
            try:
                loader_handler(signum, frame)
            except RuntimeError as exc:
                if not self.STOPPED_WORKER.search(str(exc)):
                    raise
                self.signal = signal.SIGTERM if "Terminated" in str(exc) else signal.SIGINT
        return on_child

    def _handle(self, signum, frame) -> None:
        self.received += 1
        if self.received > 1:  # a second signal to this process: give up immediately
            raise KeyboardInterrupt
        self.signal = signum

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        self._previous.clear()


class Trainer:
    """One training run in RUN_DIR. Use :func:`train` unless you need the pieces."""

    def __init__(self, cfg: TrainConfig, run_dir: str | Path, resume: bool = False,
                 model_factory: Callable[[Any], nn.Module] | None = None) -> None:
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.ckpt_dir = self.run_dir / "checkpoints"
        self.resume = resume
        self.model_factory = model_factory
        self.stop = _StopFlag()
        self.normalize: Callable[[torch.Tensor], torch.Tensor] | None = None   # the datasets' uint8 -> float
        self.epoch_skips: list[tuple[int, str]] = []  # unreadable videos of the current epoch
        self.saved_step: int | None = None   # global step of the newest checkpoint (written or resumed)
        self.skipped_updates = 0   # fp16: updates the grad scaler skipped (non-finite loss or gradients)
        self.nonfinite_run = 0     # ... of them in a row, up to the current step

    # ------------------------------------------------------------------------ setup
    def setup(self) -> None:
        cfg = self.cfg
        rt = cfg.runtime
        if rt.threads:
            torch.set_num_threads(rt.threads)
        probe = torch.device("cuda" if rt.device != "cpu" and torch.cuda.is_available() else "cpu")
        self.info = distributed.init_distributed(probe.type)
        self.log = _rank0_print(self.info)
        self.device = resolve_device(rt, self.info)
        self.dtype = autocast_dtype(rt, self.device)
        if cfg.optim.batch_size % self.info.world_size:
            raise UserError(f"optim.batch_size={cfg.optim.batch_size} is not divisible by the "
                            f"{self.info.world_size} processes")
        self.batch_per_rank = cfg.optim.batch_size // self.info.world_size
        if rt.detect_anomaly:
            torch.autograd.set_detect_anomaly(True)
        self._check_run_dir()

        self.protocol_results: dict[str, dict] = {}   # eval.final_protocols(), once trained
        seed_everything(rt.seed)
        self._build_data()
        self._build_model()
        self.optimizer = build_optimizer(self.model, cfg.optim)
        self.steps_per_epoch = len(self.train_loader)
        if self.steps_per_epoch == 0:
            raise UserError(f"the training set ({cfg.data.annotation}) has {len(self.train_set)} videos, fewer than "
                            f"one batch of {self.batch_per_rank} per process; lower optim.batch_size")
        self.schedule = LRSchedule(cfg.optim, self.steps_per_epoch)
        self.scaler = make_grad_scaler(self.device, self.dtype)
        self.epoch, self.batch_in_epoch, self.global_step = 0, 0, 0
        self.history: list[dict] = []
        self.partial: list | None = None  # this rank's running sums of the current epoch
        self.best: dict | None = None
        self.last_eval: dict | None = None
        self.tb = self._tensorboard()
        if self.resume:
            self._restore()

    def _check_run_dir(self) -> None:
        """RUN_DIR/checkpoints: created by rank 0; with several processes it must be one directory
        that all of them see (:meth:`_check_shared_run_dir`)."""
        if self.info.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self.ckpt_dir.mkdir(parents=True, exist_ok=True)
        self._check_shared_run_dir()
        existing = ckpt.list_checkpoints(self.ckpt_dir)
        if existing and not self.resume:
            raise UserError(f"{self.run_dir} already holds checkpoints ({existing[0].name}, ...); "
                            f"pass --resume to continue that run or choose another --out")

    def _check_shared_run_dir(self) -> None:
        """Rank 0 alone writes checkpoints and logs, and on --resume every process reads the
        checkpoint rank 0 picks: RUN_DIR must be on a file system that all processes share (for a
        run over several machines, a network file system). Checked at start-up: rank 0 writes a
        marker file into RUN_DIR/checkpoints, the others look for it (for up to
        SHARED_FS_TIMEOUT_S seconds); a process that cannot see it stops every process with an error."""
        if not self.info.enabled:
            return
        token = distributed.broadcast_object(uuid.uuid4().hex if self.info.is_main else None, self.info)
        marker = self.ckpt_dir / f".shared-fs-check-{token}"
        if self.info.is_main:
            marker.write_text(token)
        distributed.barrier(self.info)
        seen = self.info.is_main
        deadline = time.time() + SHARED_FS_TIMEOUT_S
        while not seen:
            try:
                seen = marker.read_text() == token
            except OSError:
                pass
            if seen or time.time() > deadline:
                break
            time.sleep(0.2)
        views = distributed.all_gather_objects((bool(seen), socket.gethostname()), self.info)
        if self.info.is_main:
            marker.unlink(missing_ok=True)
        blind = [f"rank {rank} (on {host})" for rank, (ok, host) in enumerate(views) if not ok]
        if blind:
            raise UserError(f"the run directory is not shared by all {self.info.world_size} processes: "
                            f"{', '.join(blind)} cannot see the file {marker.name} that rank 0 (on {views[0][1]}) "
                            f"wrote in {self.ckpt_dir}. Rank 0 alone writes the checkpoints and every process "
                            f"reads them on --resume, so a run over several machines needs --out on a file "
                            f"system that all of them mount at the same path")

    def _build_data(self) -> None:
        from ean.data import build_dataset, build_loader

        cfg = self.cfg
        d = cfg.data
        # validation during training: 1 clip x centre crop, as the authors
        try:
            boxes = cfg.model.input_boxes   # soi.regions=boxes: the generator's object boxes
            self.train_set = build_dataset(d, train=True, boxes=boxes)
            self.val_set = build_dataset(d, train=False, num_clips=1, num_crops=1, boxes=boxes)
        except (FileNotFoundError, ValueError, KeyError) as exc:
            raise UserError(f"data section: {exc.args[0] if exc.args else exc}") from None
        self.class_names = list(self.train_set.class_names)
        self.normalize = self.train_set.normalize
        if len(self.class_names) != cfg.model.num_classes:
            raise UserError(f"model.num_classes={cfg.model.num_classes} but the training data "
                            f"({d.annotation}) has {len(self.class_names)} classes; "
                            f"set model.num_classes={len(self.class_names)}")
        seed = d.seed
        self.train_loader = build_loader(self.train_set, self.batch_per_rank, train=True, seed=seed,
                                         num_workers=d.num_workers, distributed=self.info.enabled)
        self.val_loader = build_loader(self.val_set, cfg.eval.batch_size, train=False, seed=seed,
                                       num_workers=d.num_workers, distributed=self.info.enabled)
        # validations before the last epoch may use an evenly spaced subset (eval.subset)
        self.monitor_loader = self.val_loader
        if 0 < cfg.eval.subset < len(self.val_set):
            from ean.data.dataset import DatasetSubset, evenly_spaced

            labels = [r.label for r in self.val_set.manifest.records]   # class-balanced subset
            subset = DatasetSubset(self.val_set, evenly_spaced(len(self.val_set), cfg.eval.subset, labels))
            self.monitor_loader = build_loader(subset, cfg.eval.batch_size, train=False, seed=seed,
                                               num_workers=0, distributed=self.info.enabled)

    def _build_model(self) -> None:
        if self.model_factory is not None:
            model = self.model_factory(self.cfg.model)
        else:
            from ean.models.ean import build_model
            # paired runs: a part's initial weights depend only on (seed, its path)
            model = build_model(self.cfg.model, init_seed=self.cfg.runtime.seed)
        self.num_params = sum(p.numel() for p in model.parameters())
        self.model, self.forward = prepare_model(model, self.cfg.runtime, self.device, self.info, self.log)

    def _tensorboard(self):
        if not (self.cfg.runtime.tensorboard and self.info.is_main):
            return None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise UserError("runtime.tensorboard=true needs the tensorboard package "
                            "(pip install tensorboard), or set runtime.tensorboard=false") from None
        return SummaryWriter(str(self.run_dir / "tensorboard"))

    # ------------------------------------------------------------------------ resume
    def _restore(self) -> None:
        path, state, bad = (None, None, [])
        if self.info.is_main:
            path, state, bad = ckpt.find_resume_checkpoint(self.ckpt_dir)
            for bad_path, reason in bad:
                self.log(f"warning: skipping unusable checkpoint: {reason}")
            if path is None and bad:
                raise UserError(f"--resume: no usable checkpoint in {self.ckpt_dir}; "
                                f"all {len(bad)} are corrupt (newest: {bad[0][1]})")
        path = distributed.broadcast_object(str(path) if path else None, self.info)
        if path is None:
            self.log(f"--resume: no checkpoint in {self.ckpt_dir} yet; starting from scratch")
            return
        if state is None:
            state = ckpt.load_checkpoint_file(path, "cpu", ckpt.TRAINING_KEYS)
        changed = [k for k in config_diff(state["config"], self.cfg.to_dict()) if k not in RESUMABLE_CHANGES]
        if changed:
            raise UserError(f"--resume: the config differs from the one {Path(path).name} was trained with "
                            f"in {', '.join(changed)}; resume with the same settings or start a new --out")
        saved_world = _saved_world_size(state)
        world = self.info.world_size
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        try:
            self.schedule.load_state_dict(state["scheduler"])
        except ValueError as exc:
            more = (f" ({Path(path).name} was written by {saved_world} processes, this run has {world})"
                    if saved_world != world else "")
            raise UserError(f"--resume from {path}: {exc}{more}") from None
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.epoch = int(state["epoch"])
        self.batch_in_epoch = int(state["batch_in_epoch"])
        self.global_step = int(state["global_step"])
        self.history = list(state.get("metrics", {}).get("history", []))
        self.best = state.get("metrics", {}).get("best")
        self.last_eval = state.get("metrics", {}).get("last_eval")
        partials = state.get("metrics", {}).get("partial_epoch") or {}
        if saved_world == world:
            partial = partials.get(str(self.info.rank))
        else:
            # Another number of processes. The samples of global step k are positions
            # [k*B, (k+1)*B) of the epoch's permutation whatever the number of processes
            # (ean.data.loader.EpochSampler shards them rank-strided), and the steps per epoch do
            # not depend on it either, so the sampler re-shards: each process starts at
            # batch_in_epoch * B / world of its own shard. The running sums of the epoch go to
            # rank 0 (they are summed over the processes at its end).
            partial = _merge_partials(partials, self.info.rank)
            self.log(f"warning: --resume: {Path(path).name} was written by {saved_world} process(es), this run "
                     f"has {world}: every step sees the same samples (re-sharded over the processes), but "
                     f"BatchNorm statistics (per-process batches) and per-process random streams differ, so the "
                     f"run is not bit-identical to one that kept {saved_world}")
        self.partial = list(partial) if partial is not None and self.batch_in_epoch else None
        rng = state["rng"]
        rank_rng = rng.get("ranks", {}).get(str(self.info.rank)) if isinstance(rng, dict) else None
        ckpt.set_rng_state(rank_rng or rng)
        self.saved_step = self.global_step
        self.log(f"resumed from {path} (epoch {self.epoch}, batch {self.batch_in_epoch} of "
                 f"{self.steps_per_epoch}, step {self.global_step})")

    def _state(self) -> dict[str, Any]:
        rng = ckpt.rng_state()
        partial = [v.item() if torch.is_tensor(v) else v for v in self.partial] if self.partial is not None else None
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
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "global_step": self.global_step,
            "config": self.cfg.to_dict(),
            "metrics": {"history": self.history, "best": self.best, "last_eval": self.last_eval,
                        "partial_epoch": partials},
            "world_size": self.info.world_size,
        }

    def save(self, epoch_end: bool, is_best: bool = False) -> Path | None:
        """Write a checkpoint (all ranks must call it: RNG states are gathered)."""
        state = self._state()
        self.saved_step = self.global_step
        if not self.info.is_main:
            return None
        name = ckpt.checkpoint_name(self.global_step, self.epoch if epoch_end else None)
        path = ckpt.save_checkpoint(state, self.ckpt_dir / name)
        if is_best:
            ckpt.link_checkpoint(path, self.ckpt_dir / "best.pt")
        ckpt.prune_checkpoints(self.ckpt_dir, self.cfg.runtime.keep_checkpoints)
        return path

    # ------------------------------------------------------------------------ training
    def fit(self) -> dict[str, Any]:
        self.setup()
        cfg = self.cfg
        if self.info.is_main:
            (self.run_dir / "config.yaml").write_text(cfg.to_yaml())
        self.log(f"training {cfg.model_preset or cfg.model.name} ({self.num_params / 1e6:.2f} M parameters) on "
                 f"{self.device}{'' if not self.info.enabled else f' x {self.info.world_size} processes'}, "
                 f"precision {self.dtype or 'fp32'}, global batch {cfg.optim.batch_size}, lr {cfg.optim.lr:g}, "
                 f"{cfg.optim.epochs} epochs x {self.steps_per_epoch} steps -> {self.run_dir}")
        self.stop.install()
        started = time.time()
        clips_seen, train_time = 0, 0.0
        try:
            while self.epoch < cfg.optim.epochs:
                if cfg.runtime.max_steps and self.global_step >= cfg.runtime.max_steps:
                    break
                stats = self._train_epoch()
                clips_seen += stats["clips"]
                train_time += stats["time"]
                if self.batch_in_epoch < self.steps_per_epoch:  # stopped mid-epoch (max_steps)
                    self.save(epoch_end=False)
                    break
                self._end_epoch(stats)
        finally:
            self.stop.restore()
            if self.tb is not None:
                self.tb.close()
        if self.epoch >= cfg.optim.epochs:
            self._evaluate_protocols()
        summary = self._summary(time.time() - started, clips_seen / train_time if train_time else float("nan"))
        distributed.barrier(self.info)
        return summary

    def _train_epoch(self) -> dict[str, float]:
        cfg = self.cfg
        model, forward, opt = self.model, self.forward, self.optimizer
        epoch = self.epoch
        for obj in (self.train_set,):
            if hasattr(obj, "set_epoch"):
                obj.set_epoch(epoch)
        sampler = self.train_loader.sampler
        sampler.set_epoch(epoch)
        sampler.set_start(self.batch_in_epoch * self.batch_per_rank)
        stop, = self._sync_flags(self.stop.signal is not None)
        if stop:  # e.g. during the last epoch's end: before (re)starting the loader workers
            self._interrupt(f"before epoch {epoch + 1}" if self.batch_in_epoch == 0 else f"epoch {epoch + 1}")
        model.train()
        rng = torch.get_rng_state()  # iter() draws a worker seed from the global RNG: keep it out
        try:
            iterator = iter(self.train_loader)   # (persistent workers: waits for them to restart)
        except Exception as exc:
            iterator = self._loader_failed(exc)
        finally:
            torch.set_rng_state(rng)

        total = self.steps_per_epoch
        bar = tqdm(total=total, initial=self.batch_in_epoch, desc=f"epoch {epoch + 1}/{cfg.optim.epochs}",
                   dynamic_ncols=True, disable=not (cfg.runtime.progress and self.info.is_main), leave=True)
        if self.batch_in_epoch == 0 or self.partial is None:
            self.partial = [0.0, 0, 0, 0, 0.0]  # loss sum, correct, clips, skipped, seconds of this epoch
            self.epoch_skips = []  # (index, reason) of this process's unreadable videos
        loss_sum, correct, seen, skipped, spent = self.partial
        # the running sums stay on the device; they are read only where a step logs
        loss_sum = torch.tensor(float(loss_sum), dtype=torch.float64, device=self.device)
        correct = torch.tensor(int(correct), dtype=torch.int64, device=self.device)
        t0 = time.time() - spent
        # the lr reported if no step runs here (resumed after the epoch's last step: that step's lr)
        lr = self.schedule.factor(self.global_step - (1 if self.batch_in_epoch else 0)) * cfg.optim.lr
        params = [p for p in model.parameters() if p.requires_grad]
        try:
            while self.batch_in_epoch < total:
                if cfg.runtime.max_steps and self.global_step >= cfg.runtime.max_steps:
                    break
                try:
                    batch = next(iterator) if iterator is not None else None
                except StopIteration:
                    raise RuntimeError(f"the training loader ended after {self.batch_in_epoch} of {total} "
                                       f"batches in epoch {epoch + 1}") from None
                except Exception as exc:
                    batch = self._loader_failed(exc)
                stop, empty = self._sync_flags(self.stop.signal is not None, batch is None or batch["clip"] is None)
                if stop:  # at a step boundary: this batch is fetched again on resume
                    self._interrupt(f"epoch {epoch + 1}")
                skipped += len(batch.get("skipped", []))
                self.epoch_skips.extend(batch.get("skipped", []))
                self.partial[3] = skipped
                if empty:  # every video of the batch was unreadable (on some rank): no update
                    for index, reason in batch.get("skipped", [])[:3]:
                        self.log(f"warning: step {self.global_step + 1}: unreadable video {index}: {reason}")
                    step_loss = None
                else:
                    lr = self.schedule.step(opt, self.global_step)
                    step_loss, step_correct, n = self._step(forward, params, batch["clip"], batch["label"],
                                                           batch.get("boxes"))
                    if n:  # 0: a skipped fp16 update with a non-finite loss
                        loss_sum += step_loss.double() * n
                        correct += step_correct
                        seen += n
                self.partial = [loss_sum, correct, seen, skipped, time.time() - t0]
                self.global_step += 1
                self.batch_in_epoch += 1
                bar.update(1)
                if self.batch_in_epoch % cfg.runtime.log_every == 0 or self.batch_in_epoch == total:
                    elapsed = time.time() - t0
                    step_loss = float("nan") if step_loss is None else float(step_loss)
                    bar.set_postfix(loss=f"{float(loss_sum) / max(seen, 1):.4f}",
                                    acc=f"{100.0 * int(correct) / max(seen, 1):.1f}", lr=f"{lr:.2e}",
                                    clips_s=f"{seen * self.info.world_size / max(elapsed, 1e-9):.1f}")
                    if self.info.is_main:
                        self._log_line(f"epoch {epoch + 1} step {self.global_step} loss {step_loss:.6f} lr {lr:.6g}")
                    if self.tb is not None:
                        self.tb.add_scalar("train/loss", step_loss, self.global_step)
                        self.tb.add_scalar("train/lr", lr, self.global_step)
                every = cfg.runtime.checkpoint_every_steps
                if every and self.global_step % every == 0 and self.batch_in_epoch < total:
                    self.save(epoch_end=False)
        finally:
            bar.close()
            del iterator
        if self.batch_in_epoch >= total:
            self.partial = None
        sums = distributed.all_reduce_sum([float(loss_sum), int(correct), seen, skipped], self.info, self.device)
        return {"loss": sums[0] / max(sums[2], 1), "top1": 100.0 * sums[1] / max(sums[2], 1),
                "clips": int(sums[2]), "skipped": int(sums[3]), "time": time.time() - t0, "lr": lr}

    def _loader_failed(self, exc: Exception) -> None:
        """The training loader raised: an error, unless a stop was requested. Then its workers
        got the signal too ("worker exited unexpectedly"); nothing of the step has run, so the
        loop writes the checkpoint at this step boundary (``None``: no batch)."""
        if self.stop.signal is None:
            raise exc
        self.log(f"the data loader failed after the stop signal ({str(exc).splitlines()[0]}); "
                 f"writing the checkpoint of step {self.global_step}")
        return None

    def _sync_flags(self, *flags: bool) -> tuple[bool, ...]:
        """Each flag OR-ed over all processes (so that every rank takes the same branch)."""
        if not self.info.enabled:
            return tuple(bool(f) for f in flags)
        values = torch.tensor([1.0 if f else 0.0 for f in flags], device=self.device)
        torch.distributed.all_reduce(values)
        return tuple(bool(v > 0) for v in values.tolist())

    def _step(self, forward, params, clips, labels, boxes=None) -> tuple[torch.Tensor, torch.Tensor, int]:
        """One update: forward, backward, clip, step. ``boxes`` ``(B, T*L, N, 4)``: the clips'
        object boxes, for models whose SOI-Tr takes them (``soi.regions = "boxes"``).

        Returns the loss and the count of correct predictions as tensors on the device (the
        loop reads them only when it logs) and the clips that count (0: an fp16 update skipped
        for a non-finite loss). No collective of its own and one host sync (fp32/bf16: is the
        gradient norm finite?): a non-finite loss on any DDP process makes every process's
        all-reduced gradients non-finite, so the norm, the same everywhere, is the check —
        before the update, which is then refused (fp32/bf16) or skipped by the scaler (fp16)."""
        cfg, opt, scaler = self.cfg, self.optimizer, self.scaler
        clips = clips.to(self.device, non_blocking=True)
        if clips.dtype == torch.uint8:   # as the loader gives them: normalised here, on the device
            clips = self.normalize(clips)
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
            new_scale = scaler.get_scale()
            if new_scale < scale:
                loss_value = float(loss.detach())
                self._skipped_update(loss_value, new_scale)
                if not math.isfinite(loss_value):   # its loss and predictions count for nothing
                    return loss.detach(), torch.zeros((), dtype=torch.int64, device=self.device), 0
            else:
                self.nonfinite_run = 0
        else:
            # max_norm = inf measures without clipping (the gradients are multiplied by exactly 1)
            norm = torch.nn.utils.clip_grad_norm_(params, cfg.optim.clip_grad_norm or math.inf)
            if not torch.isfinite(norm):
                loss_value = float(loss.detach())
                what = (f"the loss became {loss_value}" if not math.isfinite(loss_value)
                        else f"the gradient norm became {float(norm)}")
                raise TrainingDiverged(
                    f"{what} at step {self.global_step + 1} (epoch {self.epoch + 1}, batch "
                    f"{self.batch_in_epoch + 1}); training stopped before the update. The last good checkpoint "
                    f"is kept in {self.ckpt_dir}. Lower optim.base_lr, enable warm-up (optim.warmup_epochs) "
                    f"or use fp32")
            opt.step()
        correct = (logits.detach().argmax(dim=1) == labels).sum()
        return loss.detach(), correct, int(labels.shape[0])

    def _skipped_update(self, loss_value: float, new_scale: float) -> None:
        """Count (and log) an fp16 update the grad scaler skipped; too many in a row: diverged."""
        self.skipped_updates += 1
        self.nonfinite_run += 1
        what = "the gradients were not finite" if math.isfinite(loss_value) else f"the loss was {loss_value}"
        message = (f"fp16: {what} at step {self.global_step + 1} (epoch {self.epoch + 1}): the grad scaler "
                   f"skipped the update and lowered its scale to {new_scale:g} ({self.nonfinite_run} in a row, "
                   f"{self.skipped_updates} in this process so far)")
        self.log(f"warning: {message}")
        if self.info.is_main:
            self._log_line(message)
        if self.nonfinite_run >= MAX_NONFINITE_STEPS:
            raise TrainingDiverged(
                f"{self.nonfinite_run} updates in a row had a non-finite loss or gradients under fp16 (the last "
                f"{what.removeprefix('the ')}, at step {self.global_step + 1}, epoch {self.epoch + 1}); training "
                f"stopped. The last good checkpoint is kept in {self.ckpt_dir}. Lower optim.base_lr, enable "
                f"warm-up (optim.warmup_epochs) or use bf16 / fp32")

    # ------------------------------------------------------------------------ epoch end
    def _evaluate(self, loader, desc: str) -> EvalResult:
        """Evaluate on ``loader`` without disturbing the training's random stream, every rank
        with rank 0's BatchNorm statistics (those of the checkpoints)."""
        distributed.broadcast_buffers(self.model, self.info)
        rng = torch.get_rng_state()
        result = evaluate(self.model, loader, self.device, self.dtype, self.cfg.eval.aggregate,
                          chunk=self.cfg.eval.batch_size, info=self.info, progress=self.cfg.runtime.progress,
                          desc=desc)
        torch.set_rng_state(rng)
        return result

    def _validate(self, full: bool = True) -> EvalResult:
        return self._evaluate(self.val_loader if full else self.monitor_loader, f"validate epoch {self.epoch + 1}")

    def _interrupt(self, where: str) -> None:
        """Stop at this step boundary: write a checkpoint (unless the newest one is of this very
        step) and raise :class:`TrainingInterrupted`. Between an epoch's last step and its epoch
        checkpoint, that checkpoint has every batch of the epoch done: a resumed run validates first."""
        if self.saved_step != self.global_step:
            self.save(epoch_end=False)
        raise TrainingInterrupted(
            f"stopped by signal at step {self.global_step} ({where}); a checkpoint was written to "
            f"{self.ckpt_dir}; continue with --resume")

    def _end_epoch(self, stats: dict) -> None:
        cfg = self.cfg
        epoch_done = self.epoch + 1
        every = cfg.eval.every
        do_eval = (every and epoch_done % every == 0) or epoch_done == cfg.optim.epochs
        row = {"epoch": epoch_done, "step": self.global_step, "lr": stats["lr"], "train_loss": stats["loss"],
               "train_top1": stats["top1"], "val_loss": None, "val_top1": None, "val_top5": None,
               "val_mean_class_acc": None, "val_videos": None, "val_subset_top1": None, "epoch_time_s": stats["time"],
               "train_clips_per_s": stats["clips"] / stats["time"] if stats["time"] else None}
        is_best = False
        result = None
        full = epoch_done == cfg.optim.epochs or self.monitor_loader is self.val_loader
        if do_eval:
            stop, = self._sync_flags(self.stop.signal is not None)
            if stop:  # a stop does not wait for a validation
                self._interrupt(f"before validating epoch {epoch_done}")
            try:
                result = self._validate(full)
            except Exception:
                if self.stop.signal is None:
                    raise
                # the stop signal reached the validation loader's workers too
                self._interrupt(f"while validating epoch {epoch_done}")
            rep = result.report(self.class_names)
            row.update(val_loss=rep["loss"], val_top1=rep["top1"], val_top5=rep["top5"],
                       val_mean_class_acc=rep["mean_class_acc"], val_videos=rep["num_videos"],
                       val_subset_top1=self._subset_top1(result) if full else rep["top1"])
            if full:
                self.last_eval = {"epoch": epoch_done, "top1": rep["top1"], "top5": rep["top5"],
                                  "mean_class_acc": rep["mean_class_acc"], "loss": rep["loss"],
                                  "num_videos": rep["num_videos"], "num_skipped": rep["num_skipped"]}
                if self.best is None or rep["top1"] > self.best["top1"]:
                    self.best = dict(self.last_eval)
                    is_best = True
        self.history.append(row)
        self.epoch, self.batch_in_epoch = epoch_done, 0
        path = self.save(epoch_end=True, is_best=is_best)
        counter = SkipCounter(cfg.data.max_skip_fraction)
        counter.add(stats["clips"] + stats["skipped"], stats["skipped"])
        counter.reasons = list(self.epoch_skips)  # this process's; the counts are global
        if stats["skipped"] and self.info.is_main:
            self.log(counter.report())
        if self.info.is_main:
            self._write_metrics()
            if result is not None and full:
                save_scores(self.run_dir / "val_scores.npz", result, self.class_names,
                            {"protocol": "1clip", "aggregate": cfg.eval.aggregate, "epoch": epoch_done})
            if self.tb is not None:
                for key, value in row.items():
                    if value is not None and key not in ("epoch", "step"):
                        self.tb.add_scalar(f"epoch/{key}", value, epoch_done)
            message = (f"epoch {epoch_done}/{cfg.optim.epochs}: train loss {stats['loss']:.4f} "
                       f"top-1 {stats['top1']:.1f}%")
            if result is not None:
                subset = "" if full else f" ({rep['num_videos']} videos)"
                message += (f" | val{subset} loss {row['val_loss']:.4f} top-1 {row['val_top1']:.1f}% "
                            f"top-5 {row['val_top5']:.1f}%{' (best)' if is_best else ''}")
            if stats["skipped"]:
                message += f" | {stats['skipped']} unreadable training videos skipped"
            self.log(message + f" | {row['train_clips_per_s'] or 0:.1f} clips/s -> {path.name}")
            self._log_line(message)
        counter.check()  # too many unreadable videos: stop (after the checkpoint)

    def _subset_top1(self, result: EvalResult) -> float:
        """Top-1 of a full validation on the videos of the ``eval.subset`` validations, so
        that the last point of the curve compares with the earlier ones on the same videos."""
        subset = getattr(self.monitor_loader.dataset, "indices", None)
        if subset is None or not len(result.indices):
            return float(100.0 * (result.scores.argmax(1) == result.labels).mean()) if len(result.indices) else float("nan")
        keep = np.isin(result.indices, np.asarray(subset))
        return float(100.0 * (result.scores[keep].argmax(1) == result.labels[keep]).mean())

    def _evaluate_protocols(self) -> None:
        """After the last epoch: the validation set under ``eval.protocol`` (when it is not the
        1-clip view of the validations) and each of ``eval.extra_protocols``; each writes
        ``val_scores_<protocol>.npz`` once."""
        from ean.data import build_dataset, build_loader
        from ean.engine.config import PROTOCOLS

        cfg = self.cfg
        for protocol in cfg.eval.final_protocols():
            path = self.run_dir / f"val_scores_{protocol}.npz"
            if protocol in self.protocol_results and path.is_file():
                continue
            clips, crops = PROTOCOLS[protocol]
            dataset = build_dataset(cfg.data, train=False, num_clips=clips, num_crops=crops,
                                    boxes=cfg.model.input_boxes)
            loader = build_loader(dataset, cfg.eval.batch_size, train=False, seed=cfg.data.seed,
                                  num_workers=cfg.data.num_workers, distributed=self.info.enabled)
            result = self._evaluate(loader, f"evaluate {protocol}")
            rep = result.report(self.class_names)
            self.protocol_results[protocol] = {"top1": rep["top1"], "top5": rep["top5"],
                                               "num_videos": rep["num_videos"], "views": result.num_views}
            if self.info.is_main:
                save_scores(path, result, self.class_names,
                            {"protocol": protocol, "aggregate": cfg.eval.aggregate, "epoch": self.epoch})
                self.log(f"{protocol}: top-1 {rep['top1']:.1f}% top-5 {rep['top5']:.1f}% "
                         f"({result.num_views} views per video) -> {path.name}")

    def _write_metrics(self) -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=METRIC_FIELDS, lineterminator="\n")
        writer.writeheader()
        for row in self.history:
            writer.writerow({k: ("" if row.get(k) is None else _fmt(row[k])) for k in METRIC_FIELDS})
        ckpt.atomic_write_bytes(self.run_dir / "metrics.csv", buffer.getvalue().encode())

    def _log_line(self, message: str) -> None:
        with open(self.run_dir / "train.log", "a") as handle:
            handle.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")

    def _summary(self, wall: float, clips_per_s: float) -> dict[str, Any]:
        last = self.history[-1] if self.history else None
        summary = {
            "run_dir": str(self.run_dir),
            "model": self.cfg.model_preset or self.cfg.model.name,
            "num_params": self.num_params,
            "epochs_done": self.epoch,
            "epochs": self.cfg.optim.epochs,
            "global_step": self.global_step,
            "completed": self.epoch >= self.cfg.optim.epochs,
            "best": self.best,
            "last": self.last_eval,
            "protocols": {"1clip": self.last_eval, **self.protocol_results},
            "final_protocol": self.cfg.eval.protocol,
            "last_train": {"loss": last["train_loss"], "top1": last["train_top1"]} if last else None,
            "wall_time_s": wall,
            "train_clips_per_s": clips_per_s,
            "world_size": self.info.world_size,
            "skipped_updates": self.skipped_updates,
            "device": str(self.device),
            "precision": str(self.dtype or "fp32").replace("torch.", ""),
        }
        if self.info.is_main:
            text = json.dumps(_finite(summary), indent=2) + "\n"
            ckpt.atomic_write_bytes(self.run_dir / "summary.json", text.encode())
            best = self.best
            self.log(f"done: {self.epoch}/{self.cfg.optim.epochs} epochs, {self.global_step} steps in {wall:.1f} s"
                     + (f"; best val top-1 {best['top1']:.2f}% top-5 {best['top5']:.2f}% (epoch {best['epoch']})"
                        if best else "") + f"; summary in {self.run_dir / 'summary.json'}")
        return summary


def _saved_world_size(state: dict) -> int:
    """The number of processes that wrote a training checkpoint (older ones: from its RNG states)."""
    if state.get("world_size"):
        return int(state["world_size"])
    rng = state.get("rng")
    ranks = rng.get("ranks") if isinstance(rng, dict) else None
    return len(ranks) if ranks else 1


def _merge_partials(partials: dict, rank: int) -> list | None:
    """The running sums ``[loss, correct, clips, skipped, seconds]`` of a partly done epoch that
    another number of processes wrote (one row per old rank), for ``rank`` of this run: rank 0
    carries their totals, every other rank starts from zero (the elapsed time is the longest)."""
    rows = [list(r) for r in partials.values() if r is not None]
    if not rows:
        return None
    seconds = max(float(r[4]) for r in rows)
    if rank != 0:
        return [0.0, 0, 0, 0, seconds]
    return [sum(float(r[0]) for r in rows), sum(int(r[1]) for r in rows), sum(int(r[2]) for r in rows),
            sum(int(r[3]) for r in rows), seconds]


def _finite(obj):
    """NaN/inf -> None, so that summary.json is strict JSON."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _fmt(value):
    return f"{value:.6g}" if isinstance(value, float) else value


def train(cfg: TrainConfig, run_dir: str | Path, resume: bool = False,
          model_factory: Callable[[Any], nn.Module] | None = None) -> dict[str, Any]:
    """Train (or resume) a run; returns the summary (also written to RUN_DIR/summary.json)."""
    trainer = Trainer(cfg, run_dir, resume, model_factory)
    try:
        return trainer.fit()
    finally:
        if hasattr(trainer, "info"):
            distributed.cleanup(trainer.info)
