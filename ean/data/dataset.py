"""The clip dataset: manifest + decoding + TSN sampling + spatial transforms.

    ds = build_dataset(cfg, train=True)
    item = ds[i]            # {"clip": (3, T*L, S, S) uint8, "label": int, "index": int}
    x = ds.normalize(batch["clip"].to(device))   # float32, normalised where the model runs
    ds = build_dataset(cfg, train=False, num_clips=2, num_crops=3)
    item = ds[i]            # {"clip": (V, 3, T*L, S, S)}, V = clips x crops, clip-major
    ds = build_dataset(cfg, train=True, boxes=3)   # generated data: + "boxes" (T*L, 3, 4)

An unreadable sample gives ``{"clip": None, "label": label, "index": i,
"error": "<file>: <reason>"}``: it is never replaced by another sample (which would bias
the label distribution); the loader reports it in ``batch["skipped"]``.

Randomness of sample ``i`` in epoch ``e`` comes from one generator seeded with
``(seed, e, i)`` only, so results do not depend on worker count or order.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Optional, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from .config import DataConfig
from .decode import DecodeError, open_media
from .formats import load_manifest
from .manifest import Manifest, display_path
from .sampling import sample_test, sample_train
from .transforms import ClipTransform, Normalize


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The generator of sample ``index`` in ``epoch``: depends only on these three ints."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, epoch, index])))


class VideoDataset(Dataset):
    """Clips of the videos of a :class:`Manifest`.

    Args:
        cfg: data settings (resolved per format internally).
        manifest: the parsed annotation.
        train: random sampling/augmentation (one clip) or deterministic test views.
        num_clips: test clips per video (1, 2, 10, ...).
        num_crops: test crops per clip (1 or 3).
        boxes: 0, or give each item the ground-truth boxes of this many objects in every
            sampled frame (``"boxes"``: ``(T*L, boxes, 4)``, or ``(V, T*L, boxes, 4)`` with
            several views), moved through the same crop and flip as the frames; only the
            generated datasets (:mod:`ean.data.synth`) know their objects' boxes.
    """

    def __init__(self, cfg: DataConfig, manifest: Manifest, train: bool,
                 num_clips: int = 1, num_crops: int = 1, boxes: int = 0):
        if num_clips < 1:
            raise ValueError(f"num_clips={num_clips} must be >= 1")
        if train and (num_clips != 1 or num_crops != 1):
            raise ValueError("training samples one clip and one crop per video "
                             f"(got num_clips={num_clips}, num_crops={num_crops})")
        self.cfg = cfg.resolved()
        self.manifest = manifest
        self.train = train
        self.num_clips = num_clips
        self.num_crops = num_crops
        self.seed = self.cfg.seed
        self.epoch = 0
        self.transform = ClipTransform(self.cfg, train, num_crops, manifest.class_names, normalize=False)
        self.normalize = Normalize(self.cfg.mean, self.cfg.std)
        self._cache: OrderedDict[int, tuple[object, int]] = OrderedDict()   # index -> (video, bytes), least recently used first
        self._cache_bytes = 0
        self._decoded = None
        self.boxes = int(boxes)
        if self.boxes and len(manifest) and self._spec(0) is None:
            raise ValueError(f"object boxes were asked for (e.g. by soi.regions=boxes), but "
                             f"{display_path(manifest.records[0].path)} is not a video of a generated "
                             "dataset: only ean.data.synth datasets carry their objects' boxes")

    # -------------------------------------------------------------- properties
    @property
    def class_names(self) -> list[str]:
        return self.manifest.class_names

    @property
    def num_classes(self) -> int:
        return len(self.manifest.class_names)

    @property
    def num_views(self) -> int:
        return self.num_clips * self.num_crops

    @property
    def labels(self) -> list[int]:
        return [r.label for r in self.manifest.records]

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def set_seed(self, seed: int) -> None:
        self.seed = int(seed)

    def __len__(self) -> int:
        return len(self.manifest)

    # ------------------------------------------------------------------- items
    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        """``ds[i]`` (current epoch) or ``ds[(i, epoch)]`` (what the loader's sampler asks)."""
        index, epoch = key if isinstance(key, tuple) else (key, self.epoch)
        index = int(index)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} samples")
        record = self.manifest.records[index]
        try:
            clip, label, boxes = self._load(record, index, int(epoch))
        except DecodeError as exc:
            return {"clip": None, "label": record.label, "index": index, "error": str(exc)}
        except Exception as exc:  # a corrupt file can make decoders fail in odd ways
            return {"clip": None, "label": record.label, "index": index,
                    "error": f"{display_path(record.path)}: {type(exc).__name__}: {exc}"}
        item = {"clip": clip, "label": label, "index": index}
        return item if boxes is None else item | {"boxes": boxes}

    def _spec(self, index: int):
        """The generator's spec of video ``index`` (None for a video that was not generated)."""
        from .synth.boxes import generated_clip

        found = generated_clip(self.manifest.records[index].path)
        return None if found is None else found[0]

    def _boxes(self, index: int, idx: np.ndarray) -> torch.Tensor:
        """``(len(idx), boxes, 4)``: the objects' boxes in the frames ``idx`` of video ``index``."""
        from .synth.boxes import object_boxes, pad_objects

        spec = self._spec(index)
        if spec is None:
            raise DecodeError(self.manifest.records[index].path, "not a generated video: no object boxes")
        idx = np.minimum(np.asarray(idx), spec.num_frames - 1)
        return torch.from_numpy(pad_objects(object_boxes(spec, idx), self.boxes))

    def _load(self, record, index: int, epoch: int) -> tuple[torch.Tensor, int, Optional[torch.Tensor]]:
        cfg = self.cfg
        reader = self._reader(record, index)
        n = reader.num_frames
        if n < cfg.min_frames:
            raise DecodeError(record.path, f"only {n} frame(s), at least {cfg.min_frames} needed "
                              f"(DataConfig.min_frames)")
        T, L = cfg.num_segments, cfg.segment_length
        if self.train:
            rng = sample_rng(self.seed, epoch, index)
            idx = sample_train(n, T, L, rng)
            frames = reader.read(idx)
            boxes = self._boxes(index, idx) if self.boxes else None
            clips, label, boxes = self.transform.apply(frames, record.label, rng, boxes)
            return clips[0], label, None if boxes is None else boxes[0]
        idx = sample_test(n, T, L, self.num_clips)           # (C, T*L)
        frames = reader.read(idx.reshape(-1))                  # (C*T*L, 3, H, W)
        boxes = self._boxes(index, idx.reshape(-1)) if self.boxes else None
        views, view_boxes = [], []
        for c in range(self.num_clips):
            part = slice(c * T * L, (c + 1) * T * L)
            crops, _, moved = self.transform.apply(frames[part], record.label, None,
                                                   None if boxes is None else boxes[part])
            views.append(crops)                                # (K, 3, T*L, S, S)
            view_boxes.append(moved)                           # (K, T*L, n, 4) or None
        out = torch.cat(views)                                 # (C*K, 3, T*L, S, S)
        out_boxes = torch.cat(view_boxes) if self.boxes else None
        if self.num_views == 1:
            return out[0], record.label, None if out_boxes is None else out_boxes[0]
        return out, record.label, out_boxes


    def _reader(self, record, index: int):
        if not self.cfg.cache:
            return open_media(record, self.cfg)
        if index in self._cache:
            self._cache.move_to_end(index)
            return self._cache[index][0]
        video = None
        if self.cfg.cache_file:
            if self._decoded is None:
                from .decoded import DecodedFile
                self._decoded = DecodedFile(self.cfg.cache_file)
            video = self._decoded.get(record.path)
        video = video if video is not None else _decode_all(open_media(record, self.cfg))
        size = video.frames.numel() * video.frames.element_size()
        budget = self.cfg.cache_mb * 2 ** 20
        while self._cache and self._cache_bytes + size > budget:   # drop the least recently used
            _, (_, old_size) = self._cache.popitem(last=False)
            self._cache_bytes -= old_size
        if size <= budget:
            self._cache[index] = (video, size)
            self._cache_bytes += size
        return video


def _decode_all(reader):
    """Every frame of a reader, held in memory behind the same reader interface."""
    from .decoded import DecodedVideo

    n = reader.num_frames
    frames = reader.read(np.arange(n)) if n else torch.zeros(0, 3, 1, 1, dtype=torch.uint8)
    return DecodedVideo(frames[:min(n, reader.num_frames)])   # a reader may find fewer decodable frames


class DatasetSubset(Dataset):
    """The samples ``indices`` of a :class:`VideoDataset` (keys ``i`` or ``(i, epoch)``, as the
    loader's sampler asks); items keep their index in the full dataset."""

    def __init__(self, dataset: VideoDataset, indices):
        self.dataset = dataset
        self.indices = [int(i) for i in indices]
        self.normalize = dataset.normalize

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, key):
        index, epoch = key if isinstance(key, tuple) else (key, self.dataset.epoch)
        return self.dataset[(self.indices[int(index)], epoch)]


def evenly_spaced(n: int, count: int, labels: Optional[Sequence[int]] = None) -> list[int]:
    """About ``count`` of ``range(n)`` (all of them when ``count`` is 0 or >= n).

    Without ``labels``: every k-th index. With ``labels`` (one class per index): the same
    share of every class, evenly spaced within the class, so that the subset keeps the class
    balance whatever the order of the list (every k-th index of a list that cycles through
    the classes would pick only some of them).
    """
    if count <= 0 or count >= n:
        return list(range(n))
    if labels is None:
        step = n / count
        return sorted({int(i * step) for i in range(count)})
    if len(labels) != n:
        raise ValueError(f"evenly_spaced: {len(labels)} labels for {n} indices")
    by_class: dict[int, list[int]] = {}
    for i, y in enumerate(labels):
        by_class.setdefault(int(y), []).append(i)
    share = count / n
    out: list[int] = []
    for members in by_class.values():
        k = max(1, round(len(members) * share))
        out += [members[j] for j in evenly_spaced(len(members), k)]
    return sorted(out)


def build_dataset(cfg: DataConfig, train: bool = True, num_clips: int = 1,
                  num_crops: int = 1, boxes: int = 0) -> VideoDataset:
    """Parse the annotation of ``cfg`` (training or validation) and wrap it as a dataset
    (``boxes``: see :class:`VideoDataset`)."""
    manifest = load_manifest(cfg, train=train)
    return VideoDataset(cfg, manifest, train, num_clips=num_clips, num_crops=num_crops, boxes=boxes)
