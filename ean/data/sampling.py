"""TSN temporal sampling with dense segments, as in the authors' ``dataset.py``.

All functions return 0-based frame indices of shape ``(T * L,)`` in segment-major order
(index ``t * L + l``); frame ``l`` of a segment is ``start_t + l``, clamped to the last
frame (the last frame repeats when the video ends). ``n`` is the number of frames.

Segment starts (``avail = n - L + 1`` frames can start a full segment):

* train: ``a = avail // T``; if ``a > 0``: ``start_t = t * a + U{0..a-1}``; elif ``n > T``:
  ``T`` sorted draws from ``U{0..avail-1}``; else all 0.
* test, 1 clip: ``tick = avail / T``; ``start_t = int(tick / 2 + t * tick)`` (segment centre).
* test, C > 1 clips: clip ``c`` uses ``start_t = int(t * tick + c * tick / C)`` (the authors'
  2-clip test uses offsets 0 and tick/2; 10 clips use 0, tick/10, ..., 9 tick/10).
"""
from __future__ import annotations

import numpy as np


def segment_starts_train(n: int, num_segments: int, seg_len: int,
                         rng: np.random.Generator) -> np.ndarray:
    """Random start of each segment, shape (T,)."""
    avail = n - seg_len + 1
    a = avail // num_segments
    if a > 0:
        return np.arange(num_segments) * a + rng.integers(0, a, size=num_segments)
    if n > num_segments:
        return np.sort(rng.integers(0, max(avail, 1), size=num_segments))
    return np.zeros(num_segments, dtype=np.int64)


def segment_starts_test(n: int, num_segments: int, seg_len: int, clip: int = 0,
                        num_clips: int = 1) -> np.ndarray:
    """Deterministic start of each segment of test clip ``clip`` of ``num_clips``, (T,)."""
    if not 0 <= clip < num_clips:
        raise ValueError(f"clip {clip} out of range for num_clips={num_clips}")
    avail = n - seg_len + 1
    if avail <= 0:
        return np.zeros(num_segments, dtype=np.int64)
    tick = avail / num_segments
    t = np.arange(num_segments)
    if num_clips == 1:
        starts = tick / 2.0 + t * tick
    else:
        starts = t * tick + clip * tick / num_clips
    return starts.astype(np.int64)


def expand_segments(starts: np.ndarray, seg_len: int, n: int) -> np.ndarray:
    """(T,) starts -> (T*L,) indices ``start + l``, clamped to ``[0, n-1]``."""
    idx = starts[:, None] + np.arange(seg_len)[None, :]
    return np.clip(idx, 0, max(n - 1, 0)).reshape(-1).astype(np.int64)


def sample_train(n: int, num_segments: int, seg_len: int, rng: np.random.Generator) -> np.ndarray:
    """Training indices, shape (T*L,)."""
    return expand_segments(segment_starts_train(n, num_segments, seg_len, rng), seg_len, n)


def sample_test(n: int, num_segments: int, seg_len: int, num_clips: int = 1) -> np.ndarray:
    """Test indices for every clip, shape (num_clips, T*L)."""
    return np.stack([expand_segments(segment_starts_test(n, num_segments, seg_len, c, num_clips),
                                     seg_len, n) for c in range(num_clips)])
