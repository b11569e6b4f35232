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


def _decode(args) -> np.ndarray:
    import torch

    from .decode import open_media

    torch.set_num_threads(1)
    record, cfg = args
    reader = open_media(record, cfg)
    frames = reader.read(np.arange(reader.num_frames))[: reader.num_frames]
    return frames.permute(0, 2, 3, 1).contiguous().numpy()


def write_decoded(cfg: DataConfig, out: str | os.PathLike, progress: bool = True, workers: int = 1) -> dict:
    """Decode every frame of every video of the training and validation annotations of
    ``cfg`` into ``out`` (``workers`` processes). Returns the counts, with the frames per
    video of each split (``split_frames``: {"train": [...], "validation": [...]}); a video
    that does not decode raises :class:`ean.data.decode.DecodeError` naming it."""
    from concurrent.futures import ProcessPoolExecutor

    from tqdm import tqdm

    from .formats import load_manifest

    records, seen, splits = [], {}, {"train": [], "validation": []}
    for train in (True, False):
        for r in load_manifest(cfg, train=train).records:
            if r.path not in seen:
                seen[r.path] = len(records)
                records.append(r)
            splits["train" if train else "validation"].append(seen[r.path])
    jobs = [(r, cfg) for r in records]
    bar = tqdm(total=len(records), desc="decode", unit="video", disable=not progress)
    arrays: dict[str, np.ndarray] = {}
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for i, frames in enumerate(pool.map(_decode, jobs, chunksize=16)):
                arrays[f"v{i:05d}"] = frames
                bar.update()
    else:
        for i, job in enumerate(jobs):
            arrays[f"v{i:05d}"] = _decode(job)
            bar.update()
    bar.close()
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp.npz")
    np.savez(tmp, paths=np.array([str(r.path) for r in records]), **arrays)
    tmp.replace(out)
    counts = [a.shape[0] for a in arrays.values()]
    return {"videos": len(records), "frames": int(sum(counts)), "bytes": out.stat().st_size,
            "split_frames": {k: [counts[i] for i in v] for k, v in splits.items()}}


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
