"""The explorer on any checkpoint file and any video file (its two path fields), and the
generator's ground-truth boxes over the frames it shows.

The full-size test builds a randomly initialised ResNet-50 EAN (``ean_r50_8f_rgb_lmc``, 174
classes, 8x5 frames at 224), saves it in our checkpoint format and picks it and a real clip of
``../shared/real-videos/`` in the widget (skipped when that folder is absent, like the other
real-clip tests): about 1.5 s per update on 2 cores, three updates.
"""
from __future__ import annotations

import dataclasses
import math
import re
import shutil
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")

from ean.models.ean import EAN  # noqa: E402
from ean.models.checkpoint import save_model_checkpoint as save_checkpoint  # noqa: E402
from ean.models.presets import get_preset  # noqa: E402
from ean.viz.explorer import NO_TRUTH, FusionExplorer  # noqa: E402

REAL_VIDEOS = Path(__file__).resolve().parents[2].parent / "shared" / "real-videos"
REAL_CLIP = REAL_VIDEOS / "arm_wrestling.mp4"
TINY_DATA = {"data": {"format": "videos", "resize": 0}}   # 36x48 frames -> 64x85 -> centre 64x64


@pytest.fixture(autouse=True)
def _two_threads():
    torch.set_num_threads(2)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A generated dataset of one clip per class and split (the smoke rendering, ~1 s)."""
    from ean.data.synth import generate
    from ean.data.synth.profiles import get_profile

    root = tmp_path_factory.mktemp("synth")
    prof = dataclasses.replace(get_profile("smoke"), name="explorer", train_per_class=1, val_per_class=1)
    generate(root, prof, seed=0, workers=1, progress=False)
    return root


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny") / "ean_tiny.pt"
    return save_checkpoint(EAN(get_preset("ean_tiny")), path, config=TINY_DATA)


def _image(out) -> bytes:
    return out.outputs[0]["data"]["image/png"]


def _ms(status: str) -> float:
    found = re.search(r"update \d+: (\d+) ms", status)
    assert found, status
    return float(found.group(1))


def test_full_size_checkpoint_and_real_clip_through_the_path_fields(tiny_checkpoint, generated, tmp_path):
    if not REAL_CLIP.is_file():
        pytest.skip(f"{REAL_CLIP} is not available")
    torch.manual_seed(0)
    cfg = get_preset("ean_r50_8f_rgb_lmc")
    big = save_checkpoint(EAN(cfg), tmp_path / "ean_r50_8f_rgb_lmc.pt")
    ex = FusionExplorer.for_files(tiny_checkpoint, generated / "videos" / "500003.mp4")
    assert ex.updates == 1 and ex.view.probs.numel() == 16

    ex.checkpoint_path.value = str(big)                     # typed + Enter: the full-size model
    assert ex.updates == 2, ex.status.value
    assert ex.checkpoint.value == "file: ean_r50_8f_rgb_lmc.pt" and ex.checkpoints[ex.checkpoint.value] == big
    ex.path.value = str(REAL_CLIP)                           # ... on a real clip
    assert ex.updates == 3 and ex.video.value == "file: arm_wrestling.mp4", ex.status.value
    first = ex.last_update_s
    view = ex.view
    assert view.probs.numel() == cfg.num_classes == 174
    assert [name for name, _ in view.top5] == [f"class {i}" for i in view.probs.topk(5).indices.tolist()]
    assert all(name in ex.top5.value for name, _ in view.top5)
    assert view.frames.shape == (8, 3, 224, 224)
    # EABs after the paper's stages 1-4 of ResNet-50 (stem 64, layer1-3 256, 512, 1024 channels),
    # M over their bottleneck channels
    widths = {s: c // cfg.eab.bottleneck for s, c in {1: 64, 2: 256, 3: 512, 4: 1024}.items()}
    assert view.eab_stages == [1, 2, 3, 4]
    assert [tuple(m.shape) for m in view.fusion] == [(widths[s], widths[s]) for s in (1, 2, 3, 4)]
    assert view.saliency is not None and view.saliency.shape[1:] == (8, 7, 7)
    assert math.isfinite(first) and first > 0
    assert abs(_ms(ex.status.value) - 1000 * first) <= 1, ex.status.value   # the time is shown
    assert "loading" in ex.status.value                                     # it covers decoding the clip
    assert ex.boxes is None and ex.truth_note == NO_TRUTH                  # a real clip: no ground truth

    before = _image(ex.out_weights)
    ex.zoom.value = 1.6
    assert ex.updates == 4 and "zoom 1.6" in ex.status.value
    assert math.isfinite(ex.last_update_s) and abs(_ms(ex.status.value) - 1000 * ex.last_update_s) <= 1
    assert "loading" not in ex.status.value
    assert _image(ex.out_weights) != before
    print(f"full-size update on {REAL_CLIP.name}: first after picking {first:.2f} s, "
          f"zoom update {ex.last_update_s:.2f} s")


def test_a_bad_checkpoint_or_video_path_says_so_and_keeps_the_view(tiny_checkpoint, generated, tmp_path):
    ex = FusionExplorer.for_files(tiny_checkpoint, generated / "videos" / "500001.mp4")
    view, image, options = ex.view, _image(ex.out_frames), ex.checkpoint.options
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint" * 64)
    not_ours = tmp_path / "state_dict.pt"
    torch.save({"conv1.weight": torch.zeros(1)}, not_ours)       # e.g. an unconverted release file
    for path, why in ((tmp_path / "missing.pt", "not found"), (junk, "cannot be read"),
                      (not_ours, "lacks the key")):
        ex.checkpoint_path.value = str(path)
        assert "color:#c00" in ex.status.value and str(path) in ex.status.value, ex.status.value
        assert why in ex.status.value, ex.status.value
        assert ex.view is view and ex.updates == 1 and _image(ex.out_frames) == image
        assert ex.checkpoint.options == options
    bad_video = tmp_path / "bad.mp4"
    bad_video.write_bytes(b"not a video" * 100)
    for path in (tmp_path / "missing.mp4", bad_video):
        ex.path.value = str(path)
        assert "color:#c00" in ex.status.value and str(path) in ex.status.value, ex.status.value
        assert ex.view is view and ex.updates == 1 and len(ex.video.options) == 1
    ex.checkpoint_path.value = str(tiny_checkpoint)              # a good file after the bad ones
    assert ex.updates == 2 and "color:#c00" not in ex.status.value


def _model_view_masks(view, spec, probe, zoom: float) -> np.ndarray:
    """The generator's object masks put through the transforms of the frames themselves:
    ``(T, N, S, S)`` coverage on the pixels of ``view.frames``."""
    from ean.data.synth.rendering import object_masks
    from ean.data.transforms import resize_frames
    from ean.viz.transforms import spatial_zoom

    masks = torch.from_numpy(object_masks(spec)[view.shown_indices])           # (T, N, H, W)
    masks = spatial_zoom(masks, zoom)
    crop = view.frames.shape[-1]
    masks = resize_frames(masks, probe.data_cfg.resize, crop)
    h, w = masks.shape[-2:]
    top, left = (h - crop) // 2, (w - crop) // 2
    return masks[..., top:top + crop, left:left + crop].numpy()


@pytest.mark.parametrize("zoom, rate", [(1.0, 1.0), (1.6, 2.0)])
def test_ground_truth_boxes_are_where_the_objects_are(tiny_checkpoint, generated, zoom, rate):
    from ean.data.synth.boxes import generated_clip
    from ean.viz.transforms import rate_indices

    video = generated / "videos" / "500005.mp4"
    ex = FusionExplorer.for_files(tiny_checkpoint, video, zoom=zoom, rate=rate)
    view, boxes, probe = ex.view, ex.boxes, ex.probe()
    spec, _ = generated_clip(video)
    cfg = probe.cfg
    frames = ex.frames(probe)
    assert len(frames) == spec.num_frames
    length = cfg.segment_length
    idx = rate_indices(len(frames), cfg.num_segments, rate, length)
    assert np.array_equal(view.shown_indices, idx[probe.model.sparse_frame_index(length)::length])
    actors = sum(t.role == "actor" for t in spec.tracks)
    assert boxes.shape == (cfg.num_segments, actors, 4)
    assert ex.truth_note != NO_TRUTH and "generator" in ex.truth_note
    masks = _model_view_masks(view, spec, probe, zoom) > 0.5                   # (T, N, S, S)
    scale = view.frames.shape[-1] / ((view.region[2] - view.region[0]) * spec.width)   # shown px per video px
    assert scale == pytest.approx(64 / 36 * zoom, rel=0.05)
    seen = 0
    for t in range(len(boxes)):
        for o in range(actors):
            ys, xs = np.nonzero(masks[t, o])
            x1, y1, x2, y2 = boxes[t, o]
            if len(xs) < 4:                      # (almost) out of the shown crop: no box, or a sliver
                assert np.isnan(x1) or (x2 - x1) * (y2 - y1) < 12, (t, o, boxes[t, o])
                continue
            assert not np.isnan(x1)
            # the box is the tight box of the object's pixels as the model sees them (up to one video
            # pixel: the interpolation of the zoom and the resize), and its centre lies on the object
            assert np.allclose([x1, y1, x2, y2], [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1],
                               atol=max(1.5, scale)), \
                (t, o, boxes[t, o], (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1))
            cy, cx = int((y1 + y2) / 2), int((x1 + x2) / 2)
            assert masks[t, o, max(cy - 1, 0):cy + 2, max(cx - 1, 0):cx + 2].any()
            seen += 1
    assert seen >= len(boxes), "too few objects in view to test the boxes"


def test_a_copy_outside_the_generated_dataset_has_no_ground_truth(tiny_checkpoint, generated, tmp_path):
    """The same pixels, but not a generated dataset's file: nothing is drawn."""
    ex = FusionExplorer.for_files(tiny_checkpoint, generated / "videos" / "500002.mp4")
    assert ex.boxes is not None
    with_boxes = _image(ex.out_frames)
    copy = shutil.copy(generated / "videos" / "500002.mp4", tmp_path / "500002.mp4")
    ex.path.value = str(copy)
    assert ex.updates == 2 and ex.boxes is None and ex.truth_note == NO_TRUTH
    assert torch.equal(ex.view.frames, FusionExplorer.for_files(tiny_checkpoint, copy).view.frames)
    assert _image(ex.out_frames) != with_boxes
