"""Ground-truth object boxes of generated clips, moved through the clip transforms."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ean.data.config import DataConfig
from ean.data.dataset import build_dataset
from ean.data.synth import clip_spec, get_profile, jobs_for, synthetic_config
from ean.data.synth.boxes import generated_clip, object_boxes, pad_objects
from ean.data.synth.rendering import object_masks
from ean.data.transforms import ClipTransform, crop_boxes


def _spec(k: int = 3):
    prof = get_profile("default")
    job = [j for j in jobs_for(prof) if j.split == "validation"][k]
    return clip_spec(job, prof, 0)


def test_object_boxes_are_the_tight_boxes_of_the_masks():
    spec = _spec()
    boxes = object_boxes(spec)
    masks = object_masks(spec) > 0.5                                 # (F, N, H, W)
    assert boxes.shape == (spec.num_frames, masks.shape[1], 4)
    for f in range(0, spec.num_frames, 7):
        for n in range(masks.shape[1]):
            ys, xs = np.nonzero(masks[f, n])
            if len(xs) == 0:
                assert np.isnan(boxes[f, n]).all()
                continue
            want = [xs.min() / spec.width, ys.min() / spec.height,
                    (xs.max() + 1) / spec.width, (ys.max() + 1) / spec.height]
            np.testing.assert_allclose(boxes[f, n], want, atol=1e-6)
    assert np.allclose(object_boxes(spec, [5, 9]), boxes[[5, 9]], equal_nan=True)
    with pytest.raises(IndexError):
        object_boxes(spec, [spec.num_frames])


def test_pad_objects_drops_extra_and_fills_missing_with_nan():
    boxes = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    assert np.array_equal(pad_objects(boxes, 2), boxes[:, :2])
    padded = pad_objects(boxes, 4)
    assert np.array_equal(padded[:, :3], boxes) and np.isnan(padded[:, 3]).all()


def test_crop_boxes_moves_clips_and_mirrors():
    boxes = torch.tensor([[0.25, 0.5, 0.5, 1.0], [0.0, 0.0, 0.1, 0.1], [float("nan")] * 4])
    # a 100x200 (H x W) image, crop top=50, left=50, 50x100
    out = crop_boxes(boxes, (100, 200), (50, 50, 50, 100), flip=False)
    assert torch.allclose(out[0], torch.tensor([0.0, 0.0, 0.5, 1.0]))
    assert torch.isnan(out[1]).all() and torch.isnan(out[2]).all()   # left the crop; missing
    flipped = crop_boxes(boxes, (100, 200), (50, 50, 50, 100), flip=True)
    assert torch.allclose(flipped[0], torch.tensor([0.5, 0.0, 1.0, 1.0]))


def _rectangles(frames: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A uint8 video (F, 3, 96, 128) with one filled rectangle per channel and frame, and
    their boxes (F, 3, 4) in [0, 1] (edges on a grid of 8 pixels, so resizing keeps them)."""
    g = np.random.default_rng(seed)
    video = np.zeros((frames, 3, 96, 128), np.uint8)
    boxes = np.zeros((frames, 3, 4), np.float32)
    for f in range(frames):
        for k in range(3):
            x0, y0 = g.integers(0, 12) * 8, g.integers(0, 8) * 8
            x1, y1 = x0 + g.integers(2, 5) * 8, y0 + g.integers(2, 5) * 8
            video[f, k, y0:y1, x0:x1] = 255
            boxes[f, k] = (x0 / 128, y0 / 96, x1 / 128, y1 / 96)
    return torch.from_numpy(video), torch.from_numpy(boxes)


@pytest.mark.parametrize("train,crops", [(True, 1), (False, 1), (False, 3)])
def test_transformed_boxes_bound_the_transformed_object_pixels(train, crops):
    """The boxes moved by the transform bound the object pixels of the equally transformed
    video (an independent path: the images themselves are resized, cropped and flipped)."""
    cfg = DataConfig(annotation="-", root="-", resize=[48, 64], input_size=40, test_crop_size=40,
                     scales=[1, 0.875, 0.75, 0.66], flip="swap", mean=[0, 0, 0], std=[1, 1, 1]).resolved()
    tf = ClipTransform(cfg, train=train, num_crops=crops)
    checked = gone = 0
    for seed in range(8):
        video, boxes = _rectangles(5, seed)
        rng = np.random.default_rng(seed)
        clips, _, moved = tf.apply(video, 0, rng if train else None, boxes)
        assert moved.shape == (crops, 5, 3, 4)
        for v in range(crops):
            for i in range(5):
                for n in range(3):
                    img = clips[v, n, i] > 0.5                       # (S, S)
                    b = moved[v, i, n]
                    s = img.shape[0]
                    if torch.isnan(b).any():
                        assert img.sum() <= s                        # at most a one-pixel sliver left
                        gone += 1
                        continue
                    ys, xs = torch.nonzero(img, as_tuple=True)
                    got = torch.tensor([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]) / s
                    assert torch.allclose(got, b, atol=1.5 / s), (seed, v, i, n, got, b)
                    checked += 1
    assert checked > 50 and (gone > 0 or not train)


def test_dataset_items_carry_boxes_only_for_generated_videos(smoke_dataset, tmp_path):
    cfg = synthetic_config(smoke_dataset, num_segments=4, segment_length=2, input_size=32, resize=[36, 48])
    ds = build_dataset(cfg, train=True, boxes=3)
    item = ds[0]
    assert item["boxes"].shape == (8, 3, 4) and item["clip"].shape[1] == 8
    assert "boxes" not in build_dataset(cfg, train=True)[0]
    val = build_dataset(cfg, train=False, num_clips=2, num_crops=3, boxes=3)[1]
    assert val["boxes"].shape == (6, 8, 3, 4)
    found = generated_clip(ds.manifest.records[0].path)
    assert found is not None and found[0].label == ds.manifest.records[0].label
    assert generated_clip(tmp_path / "videos" / "123.mp4") is None


def test_boxes_on_a_dataset_that_is_not_generated_is_a_clear_error(smoke_dataset, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(smoke_dataset, copy)
    (copy / "synth.json").unlink()
    cfg = synthetic_config(copy, num_segments=4, input_size=32, resize=[36, 48])
    with pytest.raises(ValueError, match="not a video of a generated dataset"):
        build_dataset(cfg, train=True, boxes=2)
