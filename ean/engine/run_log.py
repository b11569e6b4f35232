"""What a training run writes besides checkpoints, on rank 0 alone.

RUN_DIR/
    config.yaml       the resolved config
    metrics.csv       one row per epoch (METRIC_FIELDS; floats as %.6g, empty: not measured)
    train.log         timestamped lines: logged steps, epoch summaries, skipped fp16 updates
    tensorboard/      train/loss and train/lr per logged step, epoch/<column> per epoch (optional)
    summary.json      the run's outcome (strict JSON: NaN/inf written as null)
"""
from __future__ import annotations

import csv
import io
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ean.errors import UserError
from ean.files import atomic_write_bytes
from ean.engine.config import TrainConfig
from ean.engine.distributed import DistInfo
from ean.engine.meter import EpochTotals

if TYPE_CHECKING:
    from ean.engine.train_state import Progress

METRIC_FIELDS = ("epoch", "step", "lr", "train_loss", "train_top1", "val_loss", "val_top1", "val_top5",
                 "val_mean_class_acc", "val_videos", "val_subset_top1", "epoch_time_s", "train_clips_per_s")


class RunLog:
    """The run's log files in ``run_dir``; every method is a no-op on a process that is not rank 0."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.enabled = True                 # this process writes (rank 0; see open())
        self.tensorboard: Any = None        # a SummaryWriter under runtime.tensorboard

    def open(self, is_main: bool, tensorboard: bool) -> None:
        self.enabled = is_main
        if not (tensorboard and is_main):
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise UserError("runtime.tensorboard=true needs the tensorboard package "
                            "(pip install tensorboard), or set runtime.tensorboard=false") from None
        self.tensorboard = SummaryWriter(str(self.run_dir / "tensorboard"))

    def close(self) -> None:
        if self.tensorboard is not None:
            self.tensorboard.close()

    def config(self, text: str) -> None:
        if self.enabled:
            (self.run_dir / "config.yaml").write_text(text)

    def line(self, message: str) -> None:
        """Append ``YYYY-mm-dd HH:MM:SS message`` to train.log."""
        if self.enabled:
            with open(self.run_dir / "train.log", "a") as handle:
                handle.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")

    def step(self, epoch: int, step: int, loss: float, lr: float) -> None:
        """A logged step: ``epoch`` counted from 1, ``step`` the global step done, ``loss`` its mean loss."""
        self.line(f"epoch {epoch} step {step} loss {loss:.6f} lr {lr:.6g}")
        if self.tensorboard is not None:
            self.tensorboard.add_scalar("train/loss", loss, step)
            self.tensorboard.add_scalar("train/lr", lr, step)

    def epoch(self, history: list[dict], message: str) -> None:
        """An epoch's end: metrics.csv rewritten with every row of ``history``, the newest row to
        TensorBoard, ``message`` (:func:`epoch_message`) to train.log."""
        if not self.enabled:
            return
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=METRIC_FIELDS, lineterminator="\n")
        writer.writeheader()
        for row in history:
            writer.writerow({k: ("" if row.get(k) is None else _fmt(row[k])) for k in METRIC_FIELDS})
        atomic_write_bytes(self.run_dir / "metrics.csv", buffer.getvalue().encode())
        if self.tensorboard is not None:
            row = history[-1]
            for key, value in row.items():
                if value is not None and key not in ("epoch", "step"):
                    self.tensorboard.add_scalar(f"epoch/{key}", value, row["epoch"])
        self.line(message)

    def summary(self, summary: dict[str, Any]) -> None:
        if self.enabled:
            text = json.dumps(_finite(summary), indent=2) + "\n"
            atomic_write_bytes(self.run_dir / "summary.json", text.encode())


def epoch_row(epoch: int, step: int, lr: float, totals: EpochTotals) -> dict[str, Any]:
    """The metrics.csv row of epoch ``epoch`` (counted from 1) before its validation."""
    return {"epoch": epoch, "step": step, "lr": lr, "train_loss": totals.loss, "train_top1": totals.top1,
            "val_loss": None, "val_top1": None, "val_top5": None, "val_mean_class_acc": None, "val_videos": None,
            "val_subset_top1": None, "epoch_time_s": totals.seconds,
            "train_clips_per_s": totals.clips / totals.seconds if totals.seconds else None}


def epoch_message(row: dict[str, Any], epochs: int, totals: EpochTotals, full: bool, is_best: bool) -> str:
    """The line that sums an epoch up (train.log and the console)."""
    message = f"epoch {row['epoch']}/{epochs}: train loss {totals.loss:.4f} top-1 {totals.top1:.1f}%"
    if row["val_videos"] is not None:   # validated
        subset = "" if full else f" ({row['val_videos']} videos)"
        message += (f" | val{subset} loss {row['val_loss']:.4f} top-1 {row['val_top1']:.1f}% "
                    f"top-5 {row['val_top5']:.1f}%{' (best)' if is_best else ''}")
    if totals.skipped:
        message += f" | {totals.skipped} unreadable training videos skipped"
    return message


@dataclass(frozen=True)
class RunSetup:
    """What a training run is once set up: its config, folder, model size, device, autocast
    dtype (None: fp32), process group and steps per epoch."""
    cfg: TrainConfig
    run_dir: Path
    num_params: int
    device: torch.device
    dtype: torch.dtype | None
    info: DistInfo
    steps_per_epoch: int


def run_summary(run: RunSetup, progress: Progress, best: dict | None, last_eval: dict | None,
                protocol_results: dict[str, dict], skipped_updates: int, wall: float, clips: int,
                train_time: float) -> dict[str, Any]:
    """summary.json: the run's outcome where ``progress`` is (``best``, ``last_eval``,
    ``protocol_results``: its validations; ``skipped_updates``: fp16 updates the grad scaler
    skipped; ``wall``: seconds of fit(); ``clips`` trained on in ``train_time`` seconds)."""
    cfg, history = run.cfg, progress.history
    last = history[-1] if history else None
    clips_per_s = clips / train_time if train_time else float("nan")
    return {
        "run_dir": str(run.run_dir),
        "model": cfg.model_preset or cfg.model.name,
        "num_params": run.num_params,
        "epochs_done": progress.epoch,
        "epochs": cfg.optim.epochs,
        "global_step": progress.global_step,
        "completed": progress.epoch >= cfg.optim.epochs,
        "best": best,
        "last": last_eval,
        "protocols": {"1clip": last_eval, **protocol_results},
        "final_protocol": cfg.eval.protocol,
        "last_train": {"loss": last["train_loss"], "top1": last["train_top1"]} if last else None,
        "wall_time_s": wall,
        "train_clips_per_s": clips_per_s,
        "world_size": run.info.world_size,
        "skipped_updates": skipped_updates,
        "device": str(run.device),
        "precision": str(run.dtype or "fp32").replace("torch.", ""),
    }


def start_message(run: RunSetup) -> str:
    cfg, info = run.cfg, run.info
    return (f"training {cfg.model_preset or cfg.model.name} ({run.num_params / 1e6:.2f} M parameters) on "
            f"{run.device}{'' if not info.enabled else f' x {info.world_size} processes'}, "
            f"precision {run.dtype or 'fp32'}, global batch {cfg.optim.batch_size}, lr {cfg.optim.lr:g}, "
            f"{cfg.optim.epochs} epochs x {run.steps_per_epoch} steps -> {run.run_dir}")


def done_message(summary: dict[str, Any]) -> str:
    best = summary["best"]
    return (f"done: {summary['epochs_done']}/{summary['epochs']} epochs, {summary['global_step']} steps in "
            f"{summary['wall_time_s']:.1f} s"
            + (f"; best val top-1 {best['top1']:.2f}% top-5 {best['top5']:.2f}% (epoch {best['epoch']})"
               if best else "") + f"; summary in {Path(summary['run_dir']) / 'summary.json'}")


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
