"""The datasets and loaders of a training run, for one process.

Training batches: ``"clip"`` ``(b, 3, T*L, H, W)`` uint8 (normalised on the device by
:meth:`TrainData.normalize`), ``"label"`` ``(b,)`` int64, ``"skipped"`` the unreadable videos
left out, and ``"boxes"`` ``(b, T*L, N, 4)`` where the model takes object boxes; ``b`` is the
batch per process. Validations during training see one clip and the centre crop per video,
as the authors'; the ones before the last epoch may see an evenly spaced subset (``eval.subset``).
"""
from __future__ import annotations

from typing import Iterator

import torch
from torch.utils.data import DataLoader

from ean.errors import UserError
from ean.engine import distributed
from ean.engine.config import TrainConfig


def batch_per_rank(batch_size: int, info: distributed.DistInfo) -> int:
    """The clips of a global training batch of ``batch_size`` that each process trains on."""
    if batch_size % info.world_size:
        raise UserError(f"optim.batch_size={batch_size} is not divisible by the {info.world_size} processes")
    return batch_size // info.world_size


class TrainData:
    """Datasets and loaders of one process; ``batch_per_rank`` clips per training batch."""

    def __init__(self, cfg: TrainConfig, batch_per_rank: int, info: distributed.DistInfo) -> None:
        from ean.data import build_dataset, build_loader

        self.cfg = cfg
        self.info = info
        self.batch_per_rank = batch_per_rank
        d = cfg.data
        try:
            boxes = cfg.model.input_boxes   # soi.regions=boxes: the generator's object boxes
            self.train_set = build_dataset(d, train=True, boxes=boxes)
            self.val_set = build_dataset(d, train=False, num_clips=1, num_crops=1, boxes=boxes)
        except (FileNotFoundError, ValueError, KeyError) as exc:
            raise UserError(f"data section: {exc.args[0] if exc.args else exc}") from None
        self.class_names: list[str] = list(self.train_set.class_names)
        if len(self.class_names) != cfg.model.num_classes:
            raise UserError(f"model.num_classes={cfg.model.num_classes} but the training data "
                            f"({d.annotation}) has {len(self.class_names)} classes; "
                            f"set model.num_classes={len(self.class_names)}")
        self.train_loader: DataLoader = build_loader(self.train_set, batch_per_rank, train=True, seed=d.seed,
                                                     num_workers=d.num_workers, distributed=info.enabled)
        self.val_loader: DataLoader = build_loader(self.val_set, cfg.eval.batch_size, train=False, seed=d.seed,
                                                   num_workers=d.num_workers, distributed=info.enabled)
        self.monitor_loader = self.val_loader   # the validations before the last epoch
        if 0 < cfg.eval.subset < len(self.val_set):
            from ean.data.dataset import DatasetSubset, evenly_spaced

            labels = [r.label for r in self.val_set.manifest.records]   # class-balanced subset
            subset = DatasetSubset(self.val_set, evenly_spaced(len(self.val_set), cfg.eval.subset, labels))
            self.monitor_loader = build_loader(subset, cfg.eval.batch_size, train=False, seed=d.seed,
                                               num_workers=0, distributed=info.enabled)

    def steps_per_epoch(self) -> int:
        """The training batches of an epoch (the same on every process); none: :class:`UserError`."""
        steps = len(self.train_loader)
        if steps == 0:
            raise UserError(f"the training set ({self.cfg.data.annotation}) has {len(self.train_set)} videos, "
                            f"fewer than one batch of {self.batch_per_rank} per process; lower optim.batch_size")
        return steps

    def normalize(self, clips: torch.Tensor) -> torch.Tensor:
        """uint8 ``(b, 3, T*L, H, W)`` clips -> float32, normalised as the datasets define."""
        return self.train_set.normalize(clips)

    def start_epoch(self, epoch: int, batch_in_epoch: int) -> Iterator[dict]:
        """The training loader's iterator over epoch ``epoch`` from its batch ``batch_in_epoch``.
        Starting it draws a worker seed from the global RNG; the RNG is left as it was."""
        if hasattr(self.train_set, "set_epoch"):
            self.train_set.set_epoch(epoch)
        self.train_loader.sampler.set_epoch(epoch)
        self.train_loader.sampler.set_start(batch_in_epoch * self.batch_per_rank)
        rng = torch.get_rng_state()
        try:
            return iter(self.train_loader)   # (persistent workers: waits for them to restart)
        finally:
            torch.set_rng_state(rng)

    def protocol_loader(self, protocol: str) -> DataLoader:
        """The validation set under a test protocol of :data:`~ean.engine.config.PROTOCOLS`."""
        from ean.data import build_dataset, build_loader
        from ean.engine.config import PROTOCOLS

        cfg = self.cfg
        clips, crops = PROTOCOLS[protocol]
        dataset = build_dataset(cfg.data, train=False, num_clips=clips, num_crops=crops, boxes=cfg.model.input_boxes)
        return build_loader(dataset, cfg.eval.batch_size, train=False, seed=cfg.data.seed,
                            num_workers=cfg.data.num_workers, distributed=self.info.enabled)
