"""The explorer's panels: the sampled frames (with ground-truth boxes), every EAB's fusion
matrix, the kernel weights derived from it, and the SOI-Tr saliency maps, each drawn as one
matplotlib figure and rendered to a PNG (see :mod:`ean.viz.explorer`)."""
from __future__ import annotations

from typing import Optional

import matplotlib.pyplot as plt
import numpy as np

from ean.viz.inspect import ClipView

BOX_COLOURS = ("#00ff66", "#ff00ff", "#ffff00", "#00ffff", "#ff8800")


def png(fig, dpi: int = 80):
    """Render and close a figure: one draw, no tight-bbox pass (the explorer's budget)."""
    import io

    from IPython.display import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return Image(data=buf.getvalue(), format="png")


def mosaic(tiles: list[list[np.ndarray]], gap: int = 2) -> np.ndarray:
    """Rows of (H, W, 3) float images in [0, 1] -> one image with white gaps."""
    h, w = tiles[0][0].shape[:2]
    rows, cols = len(tiles), max(len(r) for r in tiles)
    out = np.ones((rows * (h + gap) - gap, cols * (w + gap) - gap, 3))
    for r, row in enumerate(tiles):
        for c, tile in enumerate(row):
            out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = tile
    return out


def _rgb(frame) -> np.ndarray:
    return frame.permute(1, 2, 0).numpy() / 255.0


def _draw_boxes(ax, boxes: np.ndarray, tile: tuple[int, int], row: int = 0, lw: float = 1.2) -> None:
    """Outline ``boxes`` ``(T, N, 4)`` (pixels of one tile) on row ``row`` of a :func:`mosaic`
    of ``tile`` ``(h, w)`` tiles drawn with ``imshow`` on ``ax``; one colour per object."""
    from matplotlib.patches import Rectangle

    (h, w), gap = tile, 2
    for i, frame in enumerate(boxes):
        for o, (x1, y1, x2, y2) in enumerate(frame):
            if not np.isnan(x1):    # imshow: pixel p spans p - 0.5 .. p + 0.5
                ax.add_patch(Rectangle((i * (w + gap) + x1 - 0.5, row * (h + gap) + y1 - 0.5), x2 - x1, y2 - y1,
                                       fill=False, lw=lw, ec=BOX_COLOURS[o % len(BOX_COLOURS)]))


def draw_frames(view: ClipView, boxes: Optional[np.ndarray] = None, note: str = ""):
    """The sampled frames, with ``boxes`` ``(T, N, 4)`` (pixels) outlined and ``note`` above."""
    t = len(view.frames)
    h, w = view.frames.shape[-2:]
    fig, ax = plt.subplots(figsize=(1.2 * t, 1.45 + (0.2 if note else 0)))
    ax.imshow(mosaic([[_rgb(f) for f in view.frames]]))
    if boxes is not None:
        _draw_boxes(ax, boxes, (h, w))
    ax.set_xticks([(w + 2) * i + w / 2 for i in range(t)], [f"frame {i + 1}" for i in range(t)], fontsize=7)
    ax.set_yticks([])
    if note:
        ax.set_title(note, fontsize=7, loc="left")
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.2, top=0.86 if note else 0.98)
    return fig


def draw_fusion(view: ClipView):
    n = len(view.fusion)
    width = 2.7 * max(n, 1) + 0.25                          # + room for the last colourbar's labels
    fig, axes = plt.subplots(1, max(n, 1), figsize=(width, 2.6), squeeze=False)
    for e, (stage, m) in enumerate(zip(view.eab_stages, view.fusion)):
        ax = axes[0][e]
        lim = float(m.abs().max()) or 1.0
        im = ax.imshow(m.numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(f"EAB {stage}: M ({m.shape[0]}x{m.shape[1]})", fontsize=8)
        ax.set_xlabel("input channel", fontsize=7)
        ax.set_ylabel("output channel", fontsize=7)
        ax.set_xticks([]), ax.set_yticks([])
        bar = fig.colorbar(im, ax=ax, fraction=0.046)
        bar.set_ticks([-lim, 0, lim])
        bar.ax.tick_params(labelsize=6)
    if n == 0:
        axes[0][0].text(0.5, 0.5, "no EAB in this model", ha="center", va="center")
        axes[0][0].set_axis_off()
    fig.subplots_adjust(left=0.06, right=1 - 0.5 / width, bottom=0.2, top=0.88, wspace=0.45)
    return fig


def draw_kernel_weights(view: ClipView):
    n = len(view.kernel_weights)
    fig, axes = plt.subplots(1, max(n, 1), figsize=(2.7 * max(n, 1), 2.4), squeeze=False)
    for e, (stage, kw) in enumerate(zip(view.eab_stages, view.kernel_weights)):
        ax = axes[0][e]
        sizes = [str(s) for s in view.kernel_sizes] or [str(i) for i in range(len(kw["spatial"]))]
        x = np.arange(len(sizes))
        ax.bar(x - 0.2, kw["spatial"].numpy(), 0.4, label="spatial", color="#3182bd")
        ax.bar(x + 0.2, kw["temporal"].numpy(), 0.4, label="temporal", color="#e6550d")
        ax.axhline(0, color="grey", lw=0.6)
        ax.set_xticks(x, sizes)
        ax.set_xlabel("kernel extent", fontsize=7)
        ax.set_title(f"EAB {stage}: kernel weights", fontsize=8)
        ax.tick_params(labelsize=6)
        ax.locator_params(axis="y", nbins=4)
        if e == 0:
            ax.legend(fontsize=6)
    if n == 0:
        axes[0][0].set_axis_off()
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.2, top=0.86, wspace=0.3)
    return fig


def draw_saliency(view: ClipView, boxes: Optional[np.ndarray] = None, tile: int = 112):
    """Each object's saliency over each frame (tiles of at most ``tile`` pixels); ``boxes``
    ``(T, N, 4)`` in pixels of ``view.frames``: ground truth, drawn on every row."""
    if view.saliency is None:
        fig, ax = plt.subplots(figsize=(4, 1))
        ax.text(0.5, 0.5, "no Saliency-Net SOI-Tr in this model", ha="center", va="center")
        ax.set_axis_off()
        return fig
    import torch.nn.functional as F

    n, t = view.saliency.shape[:2]
    h0, w0 = view.frames.shape[-2:]
    k = min(1.0, tile / max(h0, w0))                       # full-size frames: draw at half size
    h, w = round(h0 * k), round(w0 * k)
    frames = view.frames
    if k < 1:
        frames = F.interpolate(frames.float(), size=(h, w), mode="area").round().clamp(0, 255)
    maps = F.interpolate(view.saliency.float(), size=(h, w), mode="bilinear", align_corners=False).numpy()
    jet = plt.get_cmap("jet")
    rows = []
    for o in range(n):
        peak = maps[o].max() or 1.0
        heat = jet(np.clip(maps[o] / peak, 0, 1))[..., :3]                       # (T, h, w, 3)
        rows.append([0.55 * _rgb(frames[i]) + 0.45 * heat[i] for i in range(t)])
    fig, ax = plt.subplots(figsize=(1.2 * t, 1.2 * n + 0.3))
    ax.imshow(mosaic(rows))
    if boxes is not None:
        for o in range(n):
            _draw_boxes(ax, boxes * np.array([w / w0, h / h0, w / w0, h / h0]), (h, w), row=o, lw=0.8)
    ax.set_xticks([(w + 2) * i + w / 2 for i in range(t)], [f"frame {i + 1}" for i in range(t)], fontsize=7)
    ax.set_yticks([(h + 2) * o + h / 2 for o in range(n)], [f"object {o + 1}" for o in range(n)], fontsize=7)
    ax.set_title("saliency of each object (each row scaled to its maximum)", fontsize=8)
    fig.subplots_adjust(left=0.08, right=0.99, bottom=0.08, top=0.93)
    return fig
