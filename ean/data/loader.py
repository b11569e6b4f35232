"""DataLoader set-up: deterministic epoch sampler (distributed-ready), collation that
reports unreadable samples, and the per-epoch skip counter.

    loader = build_loader(ds, batch_size=8, train=True, seed=0, num_workers=2)
    counter = SkipCounter(cfg.max_skip_fraction)
    for epoch in range(E):
        loader.sampler.set_epoch(epoch)
        for batch in loader:          # {"clip", "label", "index", "skipped"}
            counter.update(batch)
            if batch["clip"] is None: # every sample of this batch was unreadable
                continue
            ...
        print(counter.report()); counter.check(); counter.reset()
"""
from __future__ import annotations

import math
from typing import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler

from .manifest import display_path


class EpochSampler(Sampler):
    """Shuffles with a permutation that depends only on ``(seed, epoch)``, shards it like
    ``DistributedSampler`` (padding by repetition, or dropping the tail with ``drop_last``),
    and yields ``(index, epoch)`` so that workers see the epoch without any shared state.

    ``set_start(n)`` skips the first ``n`` samples of this rank's epoch (resuming mid-epoch).
    """

    def __init__(self, num_samples: int, shuffle: bool, seed: int = 0, rank: int = 0,
                 world_size: int = 1, drop_last: bool = False):
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"rank={rank} / world_size={world_size} are inconsistent")
        self.n = num_samples
        self.shuffle = shuffle
        self.seed = int(seed)
        self.rank, self.world_size = rank, world_size
        self.drop_last = drop_last
        self.epoch = 0
        self.start = 0
        if drop_last and num_samples % world_size:
            self.per_rank = num_samples // world_size
        else:
            self.per_rank = math.ceil(num_samples / world_size)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        self.start = 0

    def set_start(self, n: int) -> None:
        if not 0 <= n <= self.per_rank:
            raise ValueError(f"set_start({n}): this rank has {self.per_rank} samples per epoch")
        self.start = int(n)

    def indices(self) -> list[int]:
        """This rank's sample indices for the current epoch (before ``set_start``)."""
        if self.shuffle:
            g = torch.Generator()
            g.manual_seed(int(np.random.SeedSequence([self.seed, self.epoch]).generate_state(1)[0]))
            order = torch.randperm(self.n, generator=g).tolist()
        else:
            order = list(range(self.n))
        total = self.per_rank * self.world_size
        if total > len(order):
            reps = math.ceil(total / max(len(order), 1))
            order = (order * reps)[:total]
        else:
            order = order[:total]
        return order[self.rank:total:self.world_size]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch = self.epoch
        for i in self.indices()[self.start:]:
            yield (i, epoch)

    def __len__(self) -> int:
        return self.per_rank - self.start


def collate_clips(items: list[dict]) -> dict:
    """Stack the readable samples; list the unreadable ones in ``"skipped"``.

    Returns ``{"clip": (b, ...) float32 or None when b == 0, "label": (b,) int64,
    "index": (b,) int64, "skipped": [(index, "file: reason"), ...]}``, plus ``"boxes"``
    ``(b, ..., N, 4)`` when the samples carry object boxes.
    """
    good = [it for it in items if it.get("clip") is not None]
    skipped = [(int(it["index"]), str(it.get("error", "unreadable"))) for it in items
               if it.get("clip") is None]
    out = {} if not good or good[0].get("boxes") is None else {"boxes": torch.stack([it["boxes"] for it in good])}
    return out | {
        "clip": torch.stack([it["clip"] for it in good]) if good else None,
        "label": torch.tensor([int(it["label"]) for it in good], dtype=torch.int64),
        "index": torch.tensor([int(it["index"]) for it in good], dtype=torch.int64),
        "skipped": skipped,
    }


def _worker_init(worker_id: int) -> None:
    # one intra-op thread per worker: workers are the parallelism
    torch.set_num_threads(1)
    info = torch.utils.data.get_worker_info()
    seed = info.seed % 2**32 if info is not None else worker_id
    np.random.seed(seed)


def build_loader(dataset, batch_size: int, train: bool, seed: int = 0,
                 num_workers: int | None = None, distributed: bool = False,
                 rank: int | None = None, world_size: int | None = None,
                 drop_last: bool | None = None, pin_memory: bool | None = None) -> DataLoader:
    """A DataLoader over ``dataset`` with an :class:`EpochSampler` (``loader.sampler``).

    Args:
        dataset: a :class:`~ean.data.dataset.VideoDataset` (its seed is set to ``seed``).
        batch_size: samples per batch (per process when distributed).
        train: shuffle and drop the last incomplete batch (the authors' setting).
        seed: base seed of sampling order and augmentation.
        num_workers: loader processes (``None``: ``dataset.cfg.num_workers``).
        distributed: shard across ``torch.distributed`` ranks (or the given ``rank`` /
            ``world_size``).
        pin_memory: ``None`` pins when CUDA is available.

    A training loader's workers persist across epochs; an evaluation loader's exit after each
    pass (otherwise a run would hold its validation workers, and their prefetched multi-view
    batches, through all of its training).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} must be >= 1")
    cfg = getattr(dataset, "cfg", None)
    if hasattr(dataset, "set_seed"):
        dataset.set_seed(seed)
    if num_workers is None:
        num_workers = cfg.num_workers if cfg is not None else 0
    if distributed:
        if rank is None or world_size is None:
            import torch.distributed as dist
            if not (dist.is_available() and dist.is_initialized()):
                raise RuntimeError("distributed=True needs an initialised torch.distributed "
                                   "process group (or explicit rank and world_size)")
            rank, world_size = dist.get_rank(), dist.get_world_size()
    else:
        rank, world_size = 0, 1
    drop_last = train if drop_last is None else drop_last
    sampler = EpochSampler(len(dataset), shuffle=train, seed=seed, rank=rank,
                           world_size=world_size, drop_last=drop_last and distributed)
    if pin_memory is None:
        pin_memory = cfg.pin_memory if cfg is not None and cfg.pin_memory is not None \
            else torch.cuda.is_available()
    extra = {}
    if num_workers > 0:   # training workers live across epochs; evaluation workers exit after each pass
        extra = {"persistent_workers": bool(train), "worker_init_fn": _worker_init,
                 "prefetch_factor": cfg.prefetch_factor if cfg is not None else 2}
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                      collate_fn=collate_clips, pin_memory=pin_memory, drop_last=drop_last,
                      **extra)


class DataSkipError(RuntimeError):
    """Too many unreadable samples in one epoch."""


class SkipCounter:
    """Counts unreadable samples per epoch and stops a run that skips too many.

    ``update(batch)`` after every batch, ``report()`` / ``check()`` at the end of the epoch,
    then ``reset()``. ``check`` raises :class:`DataSkipError` naming the fraction, the
    threshold setting and the first bad files.
    """

    def __init__(self, max_fraction: float = 0.01):
        self.max_fraction = max_fraction
        self.reset()

    def reset(self) -> None:
        self.seen = 0
        self.skipped = 0
        self.reasons: list[tuple[int, str]] = []

    def update(self, batch: dict) -> int:
        """Count one batch; returns the number skipped in it."""
        k = len(batch.get("skipped", []))
        self.seen += len(batch["label"]) + k
        self.skipped += k
        self.reasons.extend(batch.get("skipped", []))
        return k

    def add(self, seen: int, skipped: int) -> None:
        """Add counts gathered elsewhere (e.g. summed over distributed ranks)."""
        self.seen += int(seen)
        self.skipped += int(skipped)

    @property
    def fraction(self) -> float:
        return self.skipped / self.seen if self.seen else 0.0

    def report(self, limit: int = 10) -> str:
        """One summary line plus up to ``limit`` ``index: file: reason`` lines."""
        if not self.skipped:
            return f"data: all {self.seen} samples read"
        lines = [f"data: skipped {self.skipped} of {self.seen} samples "
                 f"({100 * self.fraction:.2f}%) that could not be read:"]
        for idx, why in self.reasons[:limit]:
            lines.append(f"  sample {idx}: {display_path(why)}")
        if len(self.reasons) > limit:
            lines.append(f"  ... and {len(self.reasons) - limit} more")
        return "\n".join(lines)

    def check(self, max_fraction: float | None = None) -> None:
        limit = self.max_fraction if max_fraction is None else max_fraction
        if self.seen and self.fraction > limit:
            first = "; ".join(display_path(w) for _, w in self.reasons[:3])
            raise DataSkipError(
                f"{self.skipped} of {self.seen} samples ({100 * self.fraction:.2f}%) could not "
                f"be read, more than data.max_skip_fraction={limit}"
                + (f"; first: {first}" if first else "")
                + ". Run `ean data validate` on the annotation to list every bad entry.")
