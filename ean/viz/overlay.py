"""Heat maps over video frames, for the figures."""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch


def frame_image(img: torch.Tensor) -> np.ndarray:
    """(3, H, W) uint8 -> (H, W, 3) for imshow."""
    return img.permute(1, 2, 0).numpy()


def overlay(ax, frame: torch.Tensor, heat: Optional[torch.Tensor], cmap="jet", alpha=0.45, vmax=None):
    """Draw ``frame`` (3, H, W) on ``ax`` with ``heat`` (h, w), bilinearly upsampled to the
    frame, over it (none: the frame alone); returns the heat map's image (for a colour bar)."""
    ax.imshow(frame_image(frame))
    if heat is not None:
        h, w = frame.shape[-2:]
        up = torch.nn.functional.interpolate(heat[None, None].float(), size=(h, w), mode="bilinear",
                                             align_corners=False)[0, 0]
        im = ax.imshow(up.numpy(), cmap=cmap, alpha=alpha, vmin=0, vmax=vmax)
        ax.set_xticks([]), ax.set_yticks([])
        return im
    ax.set_xticks([]), ax.set_yticks([])
    return None
