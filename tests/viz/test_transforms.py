"""The Fig. 10 probes on synthetic clips: zooming enlarges, a 2x frame rate halves the
apparent speed."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ean.data.sampling import sample_test
from ean.viz.transforms import rate_indices, spatial_zoom


def moving_dot(num_frames=64, size=64, speed=1.0):
    """(N, 3, H, W) uint8: a bright 3x3 dot moving right by ``speed`` px per frame."""
    frames = torch.zeros(num_frames, 3, size, size, dtype=torch.uint8)
    for i in range(num_frames):
        x = int(round(2 + speed * i * (size - 6) / (num_frames - 1)))
        frames[i, :, size // 2 - 1:size // 2 + 2, x:x + 3] = 255
    return frames


def centre_x(frame):
    w = frame[0].float().sum(0)
    return float((w * torch.arange(len(w))).sum() / w.sum())


@pytest.mark.parametrize("n,length", [(20, 1), (25, 1), (40, 5), (7, 1)])
def test_rate_one_is_the_test_sampling(n, length):
    assert np.array_equal(rate_indices(n, 8, 1.0, length), sample_test(n, 8, length)[0])


def test_double_frame_rate_halves_apparent_speed():
    video = moving_dot()
    speeds = {}
    for rate in (1.0, 2.0):
        frames = video[torch.from_numpy(rate_indices(len(video), 8, rate))]
        xs = [centre_x(f) for f in frames]
        speeds[rate] = np.mean(np.diff(xs))
    assert speeds[2.0] == pytest.approx(speeds[1.0] / 2, rel=0.1)
    idx = rate_indices(64, 8, 2.0)
    assert idx.min() >= 64 // 4 - 4 and idx.max() <= 3 * 64 // 4 + 4   # the centred half


def test_zoom_enlarges_the_centre():
    frame = torch.zeros(1, 3, 60, 60, dtype=torch.uint8)
    frame[..., 25:35, 25:35] = 200                      # a 10x10 square in the centre
    zoomed = spatial_zoom(frame, 2.0)
    assert zoomed.shape == frame.shape and zoomed.dtype == torch.uint8
    side = int((zoomed[0, 0, 30] > 100).sum())
    assert 18 <= side <= 22                             # twice as wide
    assert torch.equal(spatial_zoom(frame, 1.0), frame)
    with pytest.raises(ValueError):
        spatial_zoom(frame, 0.5)
