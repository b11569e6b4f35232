"""Ground-truth object boxes of generated clips (the oracle regions of Table 7's box row).

A generated clip is fully determined by its dataset's ``synth.json`` (profile and seed) and
its id, so its boxes are recomputed from the clip spec rather than stored::

    found = generated_clip("data/synth/default/videos/500012.mp4")   # (spec, profile) or None
    boxes = object_boxes(found[0], frames=[0, 8, 16])                # (3, N, 4)

Boxes are ``(x1, y1, x2, y2)`` in [0, 1] image coordinates of the rendered frame, one row per
actor object (distractors are not objects of the action), NaN where the object is not in view.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from .profiles import SynthProfile
from .rendering import object_coverage, object_windows
from .scene import ClipSpec
from .writer import ID_BASE, ClipJob, clip_spec


@lru_cache(maxsize=16)
def _dataset_meta(root: str) -> Optional[tuple[SynthProfile, int, int]]:
    """(profile, seed, number of classes) of a generated dataset folder, or None."""
    meta_path = Path(root) / "synth.json"
    if not meta_path.is_file():
        return None
    meta = json.loads(meta_path.read_text())
    if meta.get("generator") != "ean.data.synth":
        return None
    prof = dict(meta["profile"])
    prof = SynthProfile(**{k: tuple(v) if isinstance(v, list) else v for k, v in prof.items()})
    return prof, int(meta["seed"]), len(meta["classes"])


def generated_clip(path: str | Path) -> Optional[tuple[ClipSpec, SynthProfile]]:
    """The spec and profile of a video of a generated dataset (``ROOT/videos/<id>.mp4`` with
    ``ROOT/synth.json``); ``None`` for any other file."""
    path = Path(path).resolve()          # through symlinked video folders
    if path.parent.name != "videos":
        return None
    found = _dataset_meta(str(path.parent.parent))
    if found is None:
        return None
    prof, seed, num_classes = found
    try:
        vid = int(path.stem)
    except ValueError:
        return None
    for split in ("validation", "train"):        # ids: train from 100000, validation from 500000
        k = vid - ID_BASE[split]
        per_class = prof.val_per_class if split == "validation" else prof.train_per_class
        if 0 <= k < per_class * num_classes:
            job = ClipJob(split, k, k % num_classes, path.stem)
            return clip_spec(job, prof, seed), prof
    return None


def object_boxes(spec: ClipSpec, frames: Optional[Sequence[int]] = None,
                 roles: tuple[str, ...] = ("actor",), threshold: float = 0.5) -> np.ndarray:
    """``(len(frames), N, 4)`` float32: the tight box of each object's pixels with coverage
    above ``threshold`` in each frame (all frames by default), normalised by the frame size;
    NaN where the object is not in view. Objects are the clip's tracks of ``roles``."""
    tracks = [t for t in spec.tracks if t.role in roles]
    frames = range(spec.num_frames) if frames is None else [int(f) for f in frames]
    out = np.full((len(frames), len(tracks), 4), np.nan, dtype=np.float32)
    for i, t in enumerate(frames):
        if not 0 <= t < spec.num_frames:
            raise IndexError(f"frame {t} of a {spec.num_frames}-frame clip")
        cx = spec.camera_x[t]
        for k, track in enumerate(tracks):
            win = object_windows(track, t, cx, spec.height, spec.width)
            if win is None:
                continue
            x0, x1, y0, y1 = win
            cover = object_coverage(track, t, cx, x0, x1, y0, y1)[0] > threshold
            rows, cols = np.nonzero(cover.any(axis=1))[0], np.nonzero(cover.any(axis=0))[0]
            if len(rows) == 0:
                continue
            out[i, k] = (x0 + cols[0], y0 + rows[0], x0 + cols[-1] + 1, y0 + rows[-1] + 1)
    out[..., 0::2] /= spec.width
    out[..., 1::2] /= spec.height
    return out


def pad_objects(boxes: np.ndarray, num_objects: int) -> np.ndarray:
    """``(F, n, 4)`` -> ``(F, num_objects, 4)``: extra objects dropped, missing ones NaN (the
    model replaces a NaN box by the central region)."""
    f, n = boxes.shape[:2]
    out = np.full((f, num_objects, 4), np.nan, dtype=np.float32)
    out[:, :min(n, num_objects)] = boxes[:, :num_objects]
    return out
