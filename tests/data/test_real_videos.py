"""Decoding real clips in three containers/codecs (skipped when the folder is absent)."""
from __future__ import annotations

import pytest

from ean.data import DataConfig, build_dataset
from ean.data.decode import open_media
from ean.data.manifest import VideoRecord
from ean.data.validate import validate

from .conftest import REAL_VIDEOS

CLIPS = {"arm_wrestling.mp4": (280, 256, 340), "flipping_pancake.mkv": (310, 240, 426),
         "apply_eye_makeup.avi": (164, 240, 320)}

pytestmark = pytest.mark.skipif(not REAL_VIDEOS.is_dir(), reason=f"{REAL_VIDEOS} not present")


@pytest.mark.parametrize("name", sorted(CLIPS))
def test_real_clip_decodes_sampled_frames(name):
    path = REAL_VIDEOS / name
    if not path.exists():
        pytest.skip(f"{path} missing")
    n, h, w = CLIPS[name]
    reader = open_media(VideoRecord(str(path), None, 0), DataConfig(format="videos"))
    assert abs(reader.num_frames - n) <= 2
    frames = reader.read([0, n // 2, n - 1])
    assert frames.shape == (3, 3, h, w) and frames.float().std() > 5


def test_real_clips_through_the_dataset_and_validator(tmp_path):
    ann = tmp_path / "real.txt"
    ann.write_text("".join(f"{n} {i}\n" for i, n in enumerate(sorted(CLIPS))))
    cfg = DataConfig(format="videos", annotation=str(ann), root=str(REAL_VIDEOS), num_segments=8,
                     segment_length=5, input_size=112, resize=128, num_classes=3)
    ds = build_dataset(cfg, train=False, num_clips=2, num_crops=3)
    for i in range(len(ds)):
        item = ds[i]
        assert item["clip"].shape == (6, 3, 40, 112, 112), item.get("error")
    report = validate(cfg, workers=1, progress=False)
    assert report.ok and not report.warnings, [f.line() for f in report.errors + report.warnings]
