"""A file of decoded videos: every frame of every video of a dataset, decoded once.

    write_decoded(cfg, "data/synth/default/decoded.npz")     # both splits of cfg
    cfg.cache_file = "data/synth/default/decoded.npz"        # with cfg.cache: read from it

The file is an uncompressed ``.npz``: ``paths`` (the videos' paths as the annotation
resolves them) and one ``(N, H, W, 3)`` uint8 array per video (``v00000``, ...), read
lazily. For small datasets read many times (the embedded study trains 57 runs on the same
612 clips): decoding is then paid once instead of once per run. The clips are identical to
decoding the videos (tested).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from .config import DataConfig


def write_decoded(cfg: DataConfig, out: str | os.PathLike, progress: bool = True) -> dict:
    """Decode every video of the training and validation annotations of ``cfg`` into ``out``."""
    from tqdm import tqdm

    from .decode import open_media
    from .formats import load_manifest

    records, seen = [], set()
    for train in (True, False):
        for r in load_manifest(cfg, train=train).records:
            if r.path not in seen:
                seen.add(r.path)
                records.append(r)
    arrays: dict[str, np.ndarray] = {}
    for i, r in enumerate(tqdm(records, desc="decode", unit="video", disable=not progress)):
        reader = open_media(r, cfg)
        frames = reader.read(np.arange(reader.num_frames))[: reader.num_frames]
        arrays[f"v{i:05d}"] = frames.permute(0, 2, 3, 1).contiguous().numpy()
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp.npz")
    np.savez(tmp, paths=np.array([str(r.path) for r in records]), **arrays)
    tmp.replace(out)
    return {"videos": len(records), "frames": int(sum(a.shape[0] for a in arrays.values())),
            "bytes": out.stat().st_size}


class DecodedFile:
    """Lazy reader of a :func:`write_decoded` file: ``get(path) -> frames or None``."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.npz = np.load(self.path, allow_pickle=False)
        self.index = {p: i for i, p in enumerate(self.npz["paths"].tolist())}

    def get(self, path: str):
        i = self.index.get(str(path))
        if i is None:
            return None
        return DecodedVideo(torch.from_numpy(self.npz[f"v{i:05d}"]).permute(0, 3, 1, 2))


class DecodedVideo:
    """Frames held in memory behind the reader interface (``num_frames``, ``read``)."""

    def __init__(self, frames: torch.Tensor):
        self.frames = frames
        self.num_frames = len(frames)

    def read(self, indices) -> torch.Tensor:
        idx = np.clip(np.asarray(indices, dtype=np.int64), 0, max(self.num_frames - 1, 0))
        return self.frames[torch.from_numpy(idx)]
