"""Spatial clip transforms (all frames of a clip share one crop and one flip).

Frames come in as a uint8 tensor ``(N, 3, H, W)`` and leave as clips ``(3, N, S, S)``: uint8
from the datasets (the engine normalises them on the device with :class:`Normalize`),
normalised float32 from a :class:`ClipTransform` used on its own. Resizing and cropping use
``torchvision.transforms.v2.functional`` on the whole stack at once (bilinear, antialiased).

Training (authors' ``GroupMultiScaleCrop`` + flip):
  resize (Something: exactly 240x320; others: short side 256) -> multi-scale crop: side
  lengths ``int(short_side * s)`` for ``s`` in ``scales`` (a length within 3 px of the input
  size snaps to it), width/height scale indices differing by at most ``max_distort``, offset
  one of 13 fixed positions -> resize to ``S x S`` -> horizontal flip with p = flip_prob.
With ``crop: random`` (the paper's recipe) the training crop is an ``S x S`` square at a
uniformly random position instead.
Test: the same resize -> centre crop (or 3 crops along the longer side) of ``test_crop_size``.
"""
from __future__ import annotations

import numpy as np
import torch
from torchvision.transforms.v2 import functional as F

from .config import DataConfig
from .labels import direction_classes, flip_label_map


def resize_frames(frames: torch.Tensor, resize, min_side: int) -> torch.Tensor:
    """Resize ``(N, 3, H, W)`` to ``[H', W']`` (list) or a short side (int; 0 = keep); the
    short side is never left below ``min_side`` (the crop size)."""
    h, w = frames.shape[-2:]
    if isinstance(resize, (list, tuple)):
        size = [int(resize[0]), int(resize[1])]
    elif resize:
        s = int(resize)
        size = [s, max(1, round(w * s / h))] if h <= w else [max(1, round(h * s / w)), s]
    else:
        size = [h, w]
    if min(size) < min_side:
        k = min_side / min(size)
        size = [max(min_side, round(size[0] * k)), max(min_side, round(size[1] * k))]
    if size == [h, w]:
        return frames
    return F.resize(frames, size, antialias=True)


def fixed_offsets(image_w: int, image_h: int, crop_w: int, crop_h: int) -> list[tuple[int, int]]:
    """The 13 (x, y) crop offsets: 4 corners, centre, 4 edge centres, 4 quarter points."""
    ws, hs = (image_w - crop_w) // 4, (image_h - crop_h) // 4
    return [(0, 0), (4 * ws, 0), (0, 4 * hs), (4 * ws, 4 * hs), (2 * ws, 2 * hs),
            (0, 2 * hs), (4 * ws, 2 * hs), (2 * ws, 4 * hs), (2 * ws, 0),
            (ws, hs), (3 * ws, hs), (ws, 3 * hs), (3 * ws, 3 * hs)]


def multiscale_crop_box(image_h: int, image_w: int, input_size: int, scales: list[float],
                        max_distort: int, fix_crop: bool,
                        rng: np.random.Generator) -> tuple[int, int, int, int]:
    """(top, left, height, width) of one multi-scale crop."""
    base = min(image_h, image_w)
    sizes = [int(base * s) for s in scales]
    snapped = [input_size if abs(x - input_size) < 3 else x for x in sizes]
    pairs = [(w, h) for i, h in enumerate(snapped) for j, w in enumerate(snapped)
             if abs(i - j) <= max_distort]
    cw, ch = pairs[int(rng.integers(len(pairs)))]
    cw, ch = min(cw, image_w), min(ch, image_h)
    if fix_crop:
        offs = fixed_offsets(image_w, image_h, cw, ch)
        x, y = offs[int(rng.integers(len(offs)))]
    else:
        x = int(rng.integers(0, image_w - cw + 1))
        y = int(rng.integers(0, image_h - ch + 1))
    return y, x, ch, cw


def three_crop_boxes(image_h: int, image_w: int, size: int) -> list[tuple[int, int, int, int]]:
    """Three ``size x size`` boxes (top, left, h, w) along the longer side: start, centre,
    end (the short side is centred)."""
    if image_w >= image_h:
        y = (image_h - size) // 2
        return [(y, x, size, size) for x in (0, (image_w - size) // 2, image_w - size)]
    x = (image_w - size) // 2
    return [(y, x, size, size) for y in (0, (image_h - size) // 2, image_h - size)]


def normalize(frames: torch.Tensor, mean: list[float], std: list[float]) -> torch.Tensor:
    """uint8 ``(N, 3, H, W)`` -> float32 ``(3, N, H, W)``, ``(x/255 - mean) / std``."""
    return Normalize(mean, std)(frames.permute(1, 0, 2, 3))


class Normalize:
    """uint8 clips ``(..., 3, N, H, W)`` -> float32, ``(x/255 - mean) / std`` per channel, on
    the clips' device.

    The data loader hands out uint8 clips (a quarter of float32's shared memory and host to
    device copy: a 10x3 view set of 16x5 frames at 256 is 0.47 GB, not 1.9 GB) and the engine
    normalises them where the model runs."""

    def __init__(self, mean: list[float], std: list[float]) -> None:
        self.mean = [float(v) for v in mean]
        self.std = [float(v) for v in std]
        self._stats: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}   # device -> (mean, std)

    def _on(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """The (3, 1, 1, 1) mean and std tensors on ``device``, made once per device."""
        if device not in self._stats:
            self._stats[device] = tuple(torch.tensor(v, dtype=torch.float32, device=device).view(3, 1, 1, 1)
                                        for v in (self.mean, self.std))
        return self._stats[device]

    def __call__(self, clips: torch.Tensor) -> torch.Tensor:
        if clips.dtype != torch.uint8:
            raise TypeError(f"Normalize expects uint8 clips, got {clips.dtype}")
        if clips.dim() < 4 or clips.shape[-4] != 3:
            raise ValueError(f"Normalize expects clips (..., 3, N, H, W), got {tuple(clips.shape)}")
        x = clips.to(torch.float32).div_(255.0)
        m, s = self._on(x.device)
        return x.sub_(m).div_(s).contiguous()

    def __getstate__(self) -> dict:
        return {"mean": self.mean, "std": self.std, "_stats": {}}   # device tensors stay in their process

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


class ClipTransform:
    """The spatial pipeline of one split.

    Args:
        cfg: a resolved :class:`DataConfig` (``cfg.resolved()``).
        train: training augmentation (multi-scale crop + flip) or test crops.
        num_crops: 1 (centre) or 3 (three crops) at test time.
        class_names: used to derive the flip label pairs.
        normalize: return normalised float32 clips; ``False``: uint8 clips in the same layout,
            for :class:`Normalize` to finish where the model runs (what the datasets do).

    ``__call__(frames (N,3,H,W) uint8, label, rng) -> (clips, label)`` where ``clips`` is
    ``(num_crops, 3, N, S, S)`` float32 (uint8 without ``normalize``) and ``label`` may be
    swapped by a flip.
    """

    def __init__(self, cfg: DataConfig, train: bool, num_crops: int = 1,
                 class_names: list[str] | None = None, normalize: bool = True):
        if num_crops not in (1, 3):
            raise ValueError(f"num_crops={num_crops}: only 1 (centre) or 3 crops are supported")
        if train and num_crops != 1:
            raise ValueError("training uses one crop per clip (num_crops=1)")
        self.cfg = cfg
        self.train = train
        self.num_crops = num_crops
        self.finish = Normalize(cfg.mean, cfg.std) if normalize else None
        names = class_names or []
        self.flip_map = flip_label_map(names)
        self.no_flip = direction_classes(names) if cfg.flip == "skip_direction" else set()

    def __call__(self, frames: torch.Tensor, label: int,
                 rng: np.random.Generator | None) -> tuple[torch.Tensor, int]:
        clips, label, _ = self.apply(frames, label, rng)
        return clips, label

    def apply(self, frames: torch.Tensor, label: int, rng: np.random.Generator | None,
              boxes: torch.Tensor | None = None) -> tuple[torch.Tensor, int, torch.Tensor | None]:
        """As ``__call__``, and the frames' object ``boxes`` ``(N, n, 4)`` (``x1, y1, x2, y2``
        in [0, 1] of the input frames; NaN = not in view) moved through the same crops and
        flip: ``(num_crops, N, n, 4)`` in [0, 1] of each crop, NaN where a box left it."""
        cfg = self.cfg
        crop = cfg.input_size if self.train else cfg.test_crop_size
        frames = resize_frames(frames, cfg.resize, crop)
        h, w = frames.shape[-2:]
        if self.train:
            assert rng is not None, "training transforms need a random generator"
            if cfg.crop == "random":
                ch = cw = cfg.input_size
                top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
            else:
                top, left, ch, cw = multiscale_crop_box(h, w, cfg.input_size, cfg.scales,
                                                        cfg.max_distort, cfg.fix_crop, rng)
            out = F.resized_crop(frames, top, left, ch, cw, [cfg.input_size, cfg.input_size],
                                 antialias=True)
            do_flip = rng.random() < cfg.flip_prob
            if cfg.flip == "none" or (label in self.no_flip):
                do_flip = False
            if do_flip:
                out = F.horizontal_flip(out)
                if cfg.flip == "swap" and 0 <= label < len(self.flip_map):
                    label = self.flip_map[label]
            moved = None if boxes is None else crop_boxes(boxes, (h, w), (top, left, ch, cw), do_flip)[None]
            return self._finish(out).unsqueeze(0), label, moved
        if self.num_crops == 1:
            windows = [((h - crop) // 2, (w - crop) // 2, crop, crop)]
        else:
            windows = three_crop_boxes(h, w, crop)
        crops = [self._finish(F.crop(frames, t, l, bh, bw)) for t, l, bh, bw in windows]
        moved = None if boxes is None else torch.stack([crop_boxes(boxes, (h, w), win, False) for win in windows])
        return torch.stack(crops), label, moved


    def _finish(self, frames: torch.Tensor) -> torch.Tensor:
        """uint8 ``(N, 3, S, S)`` -> ``(3, N, S, S)``: normalised float32 or uint8."""
        clip = frames.permute(1, 0, 2, 3)
        return self.finish(clip) if self.finish is not None else clip.contiguous()


def crop_boxes(boxes: torch.Tensor, size: tuple[int, int], window: tuple[int, int, int, int],
               flip: bool) -> torch.Tensor:
    """Boxes ``(..., 4)`` in [0, 1] of a ``size = (H, W)`` image -> [0, 1] of its crop
    ``window = (top, left, height, width)`` (then mirrored if ``flip``); a box that falls
    outside the crop becomes NaN. Resizing does not move normalised boxes."""
    (h, w), (top, left, ch, cw) = size, window
    b = boxes.to(torch.float32).clone()
    b[..., 0::2] = (b[..., 0::2] * w - left) / cw
    b[..., 1::2] = (b[..., 1::2] * h - top) / ch
    b = b.clamp(0.0, 1.0)                                   # NaN stays NaN
    gone = (b[..., 2] <= b[..., 0]) | (b[..., 3] <= b[..., 1])
    b[gone] = float("nan")
    if flip:
        b = torch.stack([1 - b[..., 2], b[..., 1], 1 - b[..., 0], b[..., 3]], dim=-1)
    return b
