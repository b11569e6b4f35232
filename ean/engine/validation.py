"""The evaluations of a training run: the validation at an epoch's end and, once trained, the
final test protocols.

Validations see one clip and the centre crop per video (as the authors'): every
``eval.every``-th epoch on the ``eval.subset`` videos (when set), after the last epoch on all of
them. The full validations are kept in :attr:`Validator.last_eval` and :attr:`Validator.best`
(and so in the checkpoints); only the last epoch's scores are saved (``val_scores.npz``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from ean.engine import distributed
from ean.engine.config import TrainConfig
from ean.engine.distributed import DistInfo
from ean.engine.evaluate import evaluate
from ean.engine.scores import EvalResult, save_scores
from ean.engine.train_data import TrainData


class Validator:
    """Evaluates the ``model`` of a run of ``cfg`` in ``run_dir`` on ``data`` (on ``device``, under
    autocast to ``dtype``, in the process group ``info``), and keeps what the validations found
    (``best``, ``last_eval``: in every checkpoint)."""

    def __init__(self, cfg: TrainConfig, run_dir: Path, data: TrainData, model: nn.Module, device: torch.device,
                 dtype: torch.dtype | None, info: DistInfo) -> None:
        self.eval_cfg, self.epochs, self.show_progress = cfg.eval, cfg.optim.epochs, cfg.runtime.progress
        self.run_dir = run_dir
        self.data, self.model, self.device, self.dtype, self.info = data, model, device, dtype, info
        self.best: dict | None = None             # the best full validation so far
        self.last_eval: dict | None = None        # the newest full validation
        self.protocol_results: dict[str, dict] = {}   # eval.final_protocols(), once trained

    def due(self, epoch_done: int) -> tuple[bool, bool]:
        """Whether to validate after epoch ``epoch_done`` (counted from 1), and whether on every video."""
        last = epoch_done == self.epochs
        every = bool(self.eval_cfg.every) and epoch_done % self.eval_cfg.every == 0
        return every or last, last or self.data.monitor_loader is self.data.val_loader

    def validate(self, epoch_done: int, full: bool) -> EvalResult:
        """The validation after epoch ``epoch_done`` (counted from 1): on every video, or (not
        ``full``) on those of ``eval.subset``."""
        loader = self.data.val_loader if full else self.data.monitor_loader
        return self.evaluate_quietly(loader, f"validate epoch {epoch_done}")

    def evaluate_quietly(self, loader, desc: str) -> EvalResult:
        """Evaluate on ``loader`` without disturbing the training's random stream, every rank
        with rank 0's BatchNorm statistics (those of the checkpoints)."""
        distributed.broadcast_buffers(self.model, self.info)
        rng = torch.get_rng_state()
        result = evaluate(self.model, loader, self.device, self.dtype, self.eval_cfg.aggregate,
                          chunk=self.eval_cfg.batch_size, info=self.info, progress=self.show_progress, desc=desc)
        torch.set_rng_state(rng)
        return result

    def record(self, epoch_done: int, result: EvalResult, full: bool, row: dict[str, Any]) -> bool:
        """Fill the validation columns of the epoch's metrics ``row``; a full validation also
        becomes ``last_eval`` (and ``best`` if its top-1 is higher), and its scores
        ``val_scores.npz``. Returns: it is the best."""
        class_names = self.data.class_names
        rep = result.report(class_names)
        row.update(val_loss=rep["loss"], val_top1=rep["top1"], val_top5=rep["top5"],
                   val_mean_class_acc=rep["mean_class_acc"], val_videos=rep["num_videos"],
                   val_subset_top1=self.subset_top1(result) if full else rep["top1"])
        if not full:
            return False
        if self.info.is_main:
            save_scores(self.run_dir / "val_scores.npz", result, class_names,
                        {"protocol": "1clip", "aggregate": self.eval_cfg.aggregate, "epoch": epoch_done})
        self.last_eval = {"epoch": epoch_done, "top1": rep["top1"], "top5": rep["top5"],
                          "mean_class_acc": rep["mean_class_acc"], "loss": rep["loss"],
                          "num_videos": rep["num_videos"], "num_skipped": rep["num_skipped"]}
        if self.best is None or rep["top1"] > self.best["top1"]:
            self.best = dict(self.last_eval)
            return True
        return False

    def subset_top1(self, result: EvalResult) -> float:
        """Top-1 of a full validation on the videos of the ``eval.subset`` validations, so
        that the last point of the curve compares with the earlier ones on the same videos."""
        subset = getattr(self.data.monitor_loader.dataset, "indices", None)
        if subset is None or not len(result.indices):
            if not len(result.indices):
                return float("nan")
            return float(100.0 * (result.scores.argmax(1) == result.labels).mean())
        keep = np.isin(result.indices, np.asarray(subset))
        return float(100.0 * (result.scores[keep].argmax(1) == result.labels[keep]).mean())

    def final_protocols(self, epoch: int, log: Callable[[str], None]) -> None:
        """After the last epoch (``epoch``): the validation set under ``eval.protocol`` (when it is
        not the 1-clip view of the validations) and each of ``eval.extra_protocols``; each writes
        ``val_scores_<protocol>.npz`` once and its numbers into ``protocol_results``."""
        class_names = self.data.class_names
        for protocol in self.eval_cfg.final_protocols():
            path = self.run_dir / f"val_scores_{protocol}.npz"
            if protocol in self.protocol_results and path.is_file():
                continue
            result = self.evaluate_quietly(self.data.protocol_loader(protocol), f"evaluate {protocol}")
            rep = result.report(class_names)
            self.protocol_results[protocol] = {"top1": rep["top1"], "top5": rep["top5"],
                                               "num_videos": rep["num_videos"], "views": result.num_views}
            if self.info.is_main:
                save_scores(path, result, class_names,
                            {"protocol": protocol, "aggregate": self.eval_cfg.aggregate, "epoch": epoch})
                log(f"{protocol}: top-1 {rep['top1']:.1f}% top-5 {rep['top5']:.1f}% "
                    f"({result.num_views} views per video) -> {path.name}")
