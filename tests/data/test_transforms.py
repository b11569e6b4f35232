"""Spatial transforms: shapes, fixed offsets, flip + label swap, determinism."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ean.data.config import DataConfig
from ean.data.transforms import (ClipTransform, Normalize, fixed_offsets, multiscale_crop_box,
                                 normalize, resize_frames, three_crop_boxes)

NAMES = ["Moving something from left to right", "Moving something from right to left",
         "Moving something up"]


def frames(n=4, h=60, w=80):
    g = torch.Generator().manual_seed(0)
    f = torch.randint(0, 256, (n, 3, h, w), dtype=torch.uint8, generator=g)
    f[:, :, :, : w // 2] = 0  # left half dark: a flip is visible
    return f


def test_thirteen_fixed_offsets():
    offs = fixed_offsets(320, 240, 224, 224)
    assert len(offs) == 13 and len(set(offs)) == 13
    assert (0, 0) in offs and (96, 16) in offs and (48, 8) in offs


def test_multiscale_crop_sizes_snap_to_input_and_stay_inside():
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(300):
        t, l, h, w = multiscale_crop_box(240, 320, 224, [1, .875, .75, .66], 1, True, rng)
        assert 0 <= t and t + h <= 240 and 0 <= l and l + w <= 320
        seen.add((h, w))
    sizes = {240, 210, 180, 158}  # int(240 * s); none is within 3 px of 224
    assert {h for h, _ in seen} == sizes and {w for _, w in seen} == sizes
    # width/height scale indices differ by at most one
    order = [240, 210, 180, 158]
    assert all(abs(order.index(h) - order.index(w)) <= 1 for h, w in seen)
    # a crop within 3 px of the input size snaps to it
    _, _, h, w = multiscale_crop_box(226, 300, 224, [1.0], 0, True, rng)
    assert (h, w) == (224, 224)


def test_resize_modes():
    f = frames(h=60, w=80)
    assert resize_frames(f, [24, 32], 16).shape[-2:] == (24, 32)
    assert resize_frames(f, 30, 16).shape[-2:] == (30, 40)
    assert resize_frames(frames(h=80, w=60), 30, 16).shape[-2:] == (40, 30)  # portrait
    assert resize_frames(f, 0, 16).shape[-2:] == (60, 80)
    assert resize_frames(f, 0, 100).shape[-2:] == (100, 133)  # never below the crop


def test_train_and_test_shapes_and_normalisation():
    cfg = DataConfig(format="sthv2", input_size=32, resize=[36, 48]).resolved()
    clips, _ = ClipTransform(cfg, True, 1, NAMES)(frames(), 2, np.random.default_rng(0))
    assert clips.shape == (1, 3, 4, 32, 32) and clips.dtype == torch.float32
    c1, _ = ClipTransform(cfg, False, 1, NAMES)(frames(), 2, None)
    c3, _ = ClipTransform(cfg, False, 3, NAMES)(frames(), 2, None)
    assert c1.shape == (1, 3, 4, 32, 32) and c3.shape == (3, 3, 4, 32, 32)
    assert torch.equal(c3[1], c1[0])  # the middle of three crops is the centre crop
    z = normalize(torch.zeros(1, 3, 2, 2, dtype=torch.uint8), cfg.mean, cfg.std)
    assert torch.allclose(z[:, 0, 0, 0], torch.tensor([-0.485 / 0.229, -0.456 / 0.224, -0.406 / 0.225]))
    assert three_crop_boxes(40, 30, 30) == [(0, 0, 30, 30), (5, 0, 30, 30), (10, 0, 30, 30)]


def test_transform_is_deterministic_given_the_generator():
    cfg = DataConfig(input_size=32, resize=[36, 48]).resolved()
    t = ClipTransform(cfg, True, 1, NAMES)
    a, la = t(frames(), 0, np.random.default_rng(5))
    b, lb = t(frames(), 0, np.random.default_rng(5))
    assert torch.equal(a, b) and la == lb


@pytest.mark.parametrize("mode", ["swap", "skip_direction", "all", "none"])
def test_flip_modes(mode):
    cfg = DataConfig(input_size=32, resize=[32, 32], scales=[1.0], flip=mode, flip_prob=1.0).resolved()
    t = ClipTransform(cfg, True, 1, NAMES)
    f = frames(h=32, w=32)
    for label in (0, 1, 2):
        clip, new = t(f, label, np.random.default_rng(0))
        flipped = clip[0, :, 0, 0, 0].mean() > clip[0, :, 0, 0, -1].mean()  # dark side moved right
        direction = label in (0, 1)
        if mode == "swap":
            assert flipped and new == {0: 1, 1: 0, 2: 2}[label]
        elif mode == "skip_direction":
            assert flipped == (not direction) and new == label
        elif mode == "all":
            assert flipped and new == label
        else:
            assert not flipped and new == label


def test_normalize_makes_its_statistics_once_per_device_and_pickles_without_them():
    import pickle

    norm = Normalize([0.4, 0.5, 0.6], [0.2, 0.25, 0.3])
    clips = torch.randint(0, 256, (2, 3, 4, 5, 5), dtype=torch.uint8)
    first = norm(clips)
    stats = norm._on(torch.device("cpu"))
    assert norm(clips).equal(first) and norm._on(torch.device("cpu"))[0] is stats[0]
    expected = (clips.float() / 255 - torch.tensor([0.4, 0.5, 0.6]).view(3, 1, 1, 1)) / \
        torch.tensor([0.2, 0.25, 0.3]).view(3, 1, 1, 1)
    torch.testing.assert_close(first, expected)
    copy = pickle.loads(pickle.dumps(norm))
    assert copy._stats == {} and copy(clips).equal(first)
