"""Helpers for the data tests: fixture paths and small media written into tmp_path."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

FIXTURES = Path(__file__).parent / "fixtures"
REAL_VIDEOS = Path(__file__).resolve().parents[2].parent / "shared" / "real-videos"


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def frames_array(n: int, h: int = 32, w: int = 48, seed: int = 0) -> np.ndarray:
    """(n, h, w, 3) uint8 frames whose frame index is readable from the mean brightness
    (frame i has value 8 * i + noise-free gradient) -- lets tests check which frames came back."""
    base = np.zeros((n, h, w, 3), dtype=np.uint8)
    for i in range(n):
        base[i] = min(8 * i + 4, 255)
    return base


def write_video(path: os.PathLike | str, frames: np.ndarray, fps: int = 10) -> Path:
    from ean.data.synth.writer import encode_mp4
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    encode_mp4(frames, path, fps=fps, crf=10)
    return path


def write_frames(folder: os.PathLike | str, frames: np.ndarray,
                 template: str = "{:05d}.jpg", start: int = 1) -> Path:
    from PIL import Image
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(frames):
        Image.fromarray(f).save(folder / template.format(start + i), quality=95)
    return folder


def frame_value(frames: torch.Tensor) -> np.ndarray:
    """Per-frame mean brightness of (N, 3, H, W) uint8 -> the encoded frame index."""
    return np.round((frames.float().mean(dim=(1, 2, 3)).numpy() - 4) / 8).astype(int)


@pytest.fixture(scope="session")
def smoke_dataset(tmp_path_factory) -> Path:
    """The smoke profile of the synthetic dataset, generated once per session."""
    from ean.data.synth import generate
    out = tmp_path_factory.mktemp("synth_smoke")
    generate(out, "smoke", seed=0, workers=1, progress=False)
    return out
