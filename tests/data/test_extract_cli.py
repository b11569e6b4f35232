"""`ean data extract` (webm -> H.264 / JPEG) and `ean data synth` from the command line."""
from __future__ import annotations

import json

import av
import numpy as np

from ean.cli import main
from ean.data import DataConfig, build_dataset

from .conftest import FIXTURES, frame_value, frames_array


def write_webm(path, frames):
    with av.open(str(path), "w", format="webm") as c:
        s = c.add_stream("libvpx-vp9", rate=10)
        s.width, s.height, s.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        s.options = {"crf": "10", "b": "0", "deadline": "realtime", "cpu-used": "8"}
        for f in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def test_extract_webm_to_mp4_and_jpeg(tmp_path, capsys):
    src = tmp_path / "webm"
    src.mkdir()
    for vid in ("42326", "100904", "78687"):
        write_webm(src / f"{vid}.webm", frames_array(12, 32, 64))
    (src / "74225.webm").write_text("broken")
    ann = FIXTURES / "sthv2" / "something-something-v2-train.json"
    labels = FIXTURES / "sthv2" / "something-something-v2-labels.json"
    assert main(["data", "extract", str(src), str(tmp_path / "mp4"), "--to", "mp4",
                 "--annotation", str(ann), "--labels", str(labels), "--workers", "1"]) == 0
    assert main(["data", "extract", str(src), str(tmp_path / "jpg"), "--to", "jpg",
                 "--workers", "2"]) == 1  # every .webm, one of them broken
    err = capsys.readouterr().err
    assert "74225.webm" in err and "converted 3 of 4" in err
    assert len(list((tmp_path / "jpg" / "42326").glob("*.jpg"))) == 12
    assert (tmp_path / "jpg" / "42326" / "000001.jpg").exists()
    for root in ("mp4", "jpg"):
        cfg = DataConfig(format="sthv2", annotation=str(ann), labels=str(labels),
                         root=str(tmp_path / root), num_segments=4, input_size=16, resize=[16, 32])
        ds = build_dataset(cfg, train=False)
        assert all(ds[i]["clip"].shape == (3, 4, 16, 16) for i in range(len(ds)))
    from ean.data.decode import open_media
    from ean.data.manifest import VideoRecord
    r = open_media(VideoRecord(str(tmp_path / "mp4" / "42326.mp4"), None, 0), DataConfig())
    assert frame_value(r.read([0, 6, 11])).tolist() == [0, 6, 11]
    # a second run resumes: nothing to redo
    assert main(["data", "extract", str(src), str(tmp_path / "mp4"), "--to", "mp4",
                 "--annotation", str(ann), "--labels", str(labels), "--workers", "1"]) == 0


def test_cli_synth_and_stats(tmp_path, capsys):
    assert main(["data", "stats", "--profile", "smoke"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["splits"]["train"]["clips"] == 54
    assert main(["data", "synth", str(tmp_path / "s"), "--profile", "smoke", "--workers", "2"]) == 0
    assert "54 train + 18 validation clips" in capsys.readouterr().out
    assert main(["data", "validate", str(tmp_path / "s" / "train.json"), "--format", "sthv2",
                 "--root", str(tmp_path / "s" / "videos"), "--labels",
                 str(tmp_path / "s" / "labels.json"), "--workers", "2"]) == 0
    assert np.isfinite(stats["splits"]["train"]["size_px"]["max/min"])
