"""The two probes of Fig. 10: a spatial zoom and a frame-rate change of a video.

* :func:`spatial_zoom` — the centre ``1/factor`` of every frame, resized back to the frame
  size: objects look ``factor`` times larger (the paper's "spatially zoomed 1.6x").
* :func:`rate_indices` — which frames a clip of ``T`` segments samples when the video is
  played at ``rate`` times its frame rate: the clip covers ``1/rate`` of the video around its
  centre, so the displacement between sampled frames (apparent speed) is divided by ``rate``
  (the paper's "2x frame rate").
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ean.data.sampling import expand_segments


def spatial_zoom(frames: Tensor, factor: float) -> Tensor:
    """Zoom into the centre of every frame.

    frames: ``(..., H, W)`` (any leading dims, e.g. ``(T, 3, H, W)`` or ``(B, 3, T, H, W)``),
    float or uint8. ``factor`` >= 1 (1 returns the input). Same shape and dtype out.
    """
    if factor < 1:
        raise ValueError(f"zoom factor must be >= 1, got {factor}")
    if factor == 1:
        return frames
    h, w = frames.shape[-2:]
    ch, cw = max(1, round(h / factor)), max(1, round(w / factor))
    top, left = (h - ch) // 2, (w - cw) // 2
    crop = frames[..., top:top + ch, left:left + cw]
    lead = crop.shape[:-2]
    flat = crop.reshape(-1, 1, ch, cw).float()
    out = F.interpolate(flat, size=(h, w), mode="bilinear", align_corners=False)
    out = out.reshape(*lead, h, w)
    if frames.dtype == torch.uint8:
        out = out.round().clamp(0, 255).to(torch.uint8)
    return out.to(frames.dtype)


def rate_indices(num_frames: int, num_segments: int, rate: float = 1.0, segment_length: int = 1) -> np.ndarray:
    """Frame indices ``(T*L,)`` of a test clip of a video played at ``rate`` x its frame rate.

    ``rate`` 1 is exactly the 1-clip TSN test sampling (segment centres over the video); ``rate``
    r > 1 samples the same way inside the centred window of ``num_frames / r`` frames (the
    video at r times the frame rate shows the event r times slower, so the clip's frames are
    r times closer in time); r < 1 widens the window (indices are clamped to the video).
    """
    if rate <= 0:
        raise ValueError(f"frame-rate factor must be > 0, got {rate}")
    avail = max(num_frames - segment_length + 1, 1)   # frames that can start a full segment
    span = avail / rate
    tick = span / num_segments
    offset = (avail - span) / 2.0
    starts = np.floor(offset + tick / 2.0 + np.arange(num_segments) * tick).astype(np.int64)
    return expand_segments(np.clip(starts, 0, avail - 1), segment_length, num_frames)
