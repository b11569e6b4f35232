"""Rendering clip specs: the background texture, anti-aliased two-tone objects, camera pans,
noise; and the objects' ground-truth coverage masks."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .scene import COLOURS, ClipSpec, Track

if TYPE_CHECKING:
    from .profiles import SynthProfile


def _background(seed: int, H: int, Wc: int, contrast: float, kind: str = "plain",
                zoom: float = 1.0, W: int | None = None) -> np.ndarray:
    """Smooth random texture (H, Wc, 3) float32 in 0-255 (with the scene pattern ``kind``),
    sampled at coordinates zoomed ``zoom`` x about the centre of the ``W``-wide view."""
    rng = np.random.Generator(np.random.PCG64(seed))
    base = rng.uniform(90, 140) + rng.uniform(-15, 15, size=3)
    gh, gw = 5, max(5, int(round(5 * Wc / H)))
    grid = 0.75 * rng.uniform(-1, 1, size=(gh, gw, 1)) + 0.25 * rng.uniform(-1, 1, size=(gh, gw, 3))
    freq, phase = rng.uniform(0.15, 0.4), rng.uniform(0, 6.3)
    cx, cy = Wc / 2, H / 2
    xs = cx + (np.arange(Wc) + 0.5 - cx) / zoom - 0.5
    ys = cy + (np.arange(H) + 0.5 - cy) / zoom - 0.5
    yi = np.clip(ys / max(H - 1, 1) * (gh - 1), 0, gh - 1)
    xi = np.clip(xs / max(Wc - 1, 1) * (gw - 1), 0, gw - 1)
    y0 = np.floor(yi).astype(int).clip(0, gh - 2)
    x0 = np.floor(xi).astype(int).clip(0, gw - 2)
    fy, fx = (yi - y0)[:, None, None], (xi - x0)[None, :, None]
    g = grid
    tex = ((1 - fy) * (1 - fx) * g[y0][:, x0] + (1 - fy) * fx * g[y0][:, x0 + 1]
           + fy * (1 - fx) * g[y0 + 1][:, x0] + fy * fx * g[y0 + 1][:, x0 + 1])
    stripes = np.sin(xs[None, :, None] * freq + phase) * 0.25
    out = base + contrast * (tex + stripes)
    if kind == "stripes":     # the scene patterns of the kinetics class set: high contrast
        out = out + 45.0 * np.sign(np.sin(ys[:, None, None] * 0.9 + phase))
    elif kind == "checker":
        out = out + 45.0 * np.sign(np.sin(ys[:, None, None] * 0.55) * np.sin(xs[None, :, None] * 0.55 + phase))
    return out.astype(np.float32)


def _coverage(shape: str, dx: np.ndarray, dy: np.ndarray, r: float) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] of a shape of half-extent ``r`` at offsets (dx, dy)."""
    if shape == "circle":
        d = np.sqrt(dx * dx + dy * dy) - r
    elif shape == "square":
        d = np.maximum(np.abs(dx), np.abs(dy)) - r * 0.88
    elif shape == "cross":
        ax, ay = np.abs(dx), np.abs(dy)
        d = np.minimum(np.maximum(ax - r * 0.32, ay - r), np.maximum(ax - r, ay - r * 0.32))
    else:  # triangle pointing up
        d = np.maximum(dy - r * 0.8, (np.abs(dx) * 2 - (dy + r)) / np.sqrt(5))
        d = np.maximum(d, -dy - r)
    return np.clip(0.5 - d, 0.0, 1.0)


def object_coverage(track: Track, t: int, cx: float, x0: int, x1: int, y0: int, y1: int):
    """Coverage of the object and of its dark half over the window [y0:y1, x0:x1]."""
    r = np.float32(track.size[t] / 2)
    xx = np.arange(x0, x1, dtype=np.float32)[None, :] + np.float32(0.5 - (track.x[t] - cx))
    yy = np.arange(y0, y1, dtype=np.float32)[:, None] + np.float32(0.5 - track.y[t])
    c, s = np.float32(np.cos(track.angle[t])), np.float32(np.sin(track.angle[t]))
    u, v = c * xx + s * yy, -s * xx + c * yy      # object frame (rotated by -angle)
    a = _coverage(track.shape, u, v, r)
    dark = np.clip(0.5 + u - 0.15 * r, 0.0, 1.0) * a     # the half towards the object's +u axis
    return a, dark


def object_windows(track: Track, t: int, cx: float, H: int, W: int):
    """The pixel window that can hold the object in frame ``t`` (or None)."""
    r = track.size[t] / 2
    if r <= 0:
        return None
    x, y = track.x[t] - cx, track.y[t]
    x0, x1 = max(int(np.floor(x - r - 1)), 0), min(int(np.ceil(x + r + 2)), W)
    y0, y1 = max(int(np.floor(y - r - 1)), 0), min(int(np.ceil(y + r + 2)), H)
    return (x0, x1, y0, y1) if x0 < x1 and y0 < y1 else None


def object_masks(spec: ClipSpec, roles: tuple[str, ...] = ("actor",)) -> np.ndarray:
    """Ground-truth coverage of each object of ``roles`` in each frame: (F, N, H, W) float32
    in [0, 1] (before occlusion by later objects)."""
    tracks = [t for t in spec.tracks if t.role in roles]
    out = np.zeros((spec.num_frames, len(tracks), spec.height, spec.width), dtype=np.float32)
    for t in range(spec.num_frames):
        for k, tr in enumerate(tracks):
            win = object_windows(tr, t, spec.camera_x[t], spec.height, spec.width)
            if win is not None:
                x0, x1, y0, y1 = win
                out[t, k, y0:y1, x0:x1] = object_coverage(tr, t, spec.camera_x[t], x0, x1, y0, y1)[0]
    return out


def render(spec: ClipSpec, prof: SynthProfile) -> np.ndarray:
    """Render a clip: uint8 array (F, H, W, 3)."""
    H, W, F = spec.height, spec.width, spec.num_frames
    pan = int(np.ceil(np.abs(spec.camera_x).max())) + 2
    bg = _background(spec.background_seed, H, W + 2 * pan, prof.background_contrast, spec.background,
                     spec.zoom, W)
    if spec.frame_backgrounds is not None:
        bgs = [_background(spec.background_seed + t, H, W + 2 * pan, prof.background_contrast, kind, spec.zoom, W)
               for t, kind in enumerate(spec.frame_backgrounds)]
    noise_rng = np.random.Generator(np.random.PCG64(spec.noise_seed))
    clip = np.empty((F, H, W, 3), dtype=np.float32)
    static = not np.any(spec.camera_x)
    for t in range(F):
        cx = spec.camera_x[t]
        frame = clip[t]
        if spec.frame_backgrounds is not None:
            bg = bgs[t]
        if static:
            frame[...] = bg[:, pan:pan + W]
        else:
            off = pan + cx
            o0 = int(np.floor(off))
            frac = np.float32(off - o0)
            np.multiply(bg[:, o0:o0 + W], 1 - frac, out=frame)
            frame += frac * bg[:, o0 + 1:o0 + 1 + W]
        for tr in spec.tracks:
            win = object_windows(tr, t, cx, H, W)
            if win is None:
                continue
            x0, x1, y0, y1 = win
            a, dark = object_coverage(tr, t, cx, x0, x1, y0, y1)
            col = np.asarray(COLOURS[tr.colour], dtype=np.float32)
            patch = frame[y0:y1, x0:x1]
            patch = patch + (col - patch) * a[..., None]
            frame[y0:y1, x0:x1] = patch - (0.45 * col) * dark[..., None]
    if prof.noise_std > 0:
        noise = noise_rng.standard_normal(clip.shape, dtype=np.float32)
        noise *= np.float32(prof.noise_std)
        clip += noise
    clip += np.float32(0.5)
    np.clip(clip, 0, 255, out=clip)
    return clip.astype(np.uint8)
