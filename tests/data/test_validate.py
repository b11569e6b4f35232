"""`ean data validate` and training-time handling of every kind of bad input."""
from __future__ import annotations

import json
import os

import av
import numpy as np
import pytest

from ean.cli import main
from ean.data import DataConfig, build_dataset
from ean.data.validate import validate

from .conftest import frames_array, write_frames, write_video


def write_av(path, frames, pix="yuv420p", options=None):
    """Encode with PyAV directly (for odd sizes, gray streams, faststart)."""
    with av.open(str(path), "w", format="mp4", options=options or {}) as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = frames.shape[2], frames.shape[1], pix
        for f in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


@pytest.fixture(scope="module")
def bad_set(tmp_path_factory):
    """A `<video> <label>` list holding one entry of every kind of bad (and odd) input."""
    root = tmp_path_factory.mktemp("bad")
    rng = np.random.default_rng(0)
    write_video(root / "good.mp4", frames_array(30, 32, 64))
    (root / "zero.mp4").write_bytes(b"")
    full = write_av(root / "full.mp4", rng.integers(0, 255, (30, 32, 64, 3), dtype=np.uint8))
    (root / "truncated.mp4").write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    fs = write_av(root / "fs.mp4", rng.integers(0, 255, (30, 32, 64, 3), dtype=np.uint8),
                  options={"movflags": "+faststart"})
    (root / "truncated_faststart.mp4").write_bytes(fs.read_bytes()[: fs.stat().st_size * 2 // 3])
    (root / "text.mp4").write_text("this is not a video\n")
    write_video(root / "one_frame.mp4", frames_array(1, 32, 64))
    write_video(root / "short.mp4", frames_array(5, 32, 64))
    write_av(root / "gray.mp4", frames_array(12, 32, 64), pix="gray")
    write_av(root / "odd.mp4", frames_array(12, 33, 47), pix="yuv444p")
    write_video(root / "portrait.mp4", frames_array(12, 64, 32))
    write_video(os.fsdecode(os.path.join(os.fsencode(root), b"caf\xe9.mp4")), frames_array(12, 32, 64))
    entries = [b"good.mp4 0", b"zero.mp4 0", b"truncated.mp4 1", b"truncated_faststart.mp4 1",
               b"text.mp4 0", b"one_frame.mp4 1", b"short.mp4 0", b"gray.mp4 1", b"odd.mp4 0",
               b"portrait.mp4 1", b"caf\xe9.mp4 0", b"missing.mp4 1", b"good.mp4 7",
               b"good.mp4"]
    ann = root / "list.txt"
    ann.write_bytes(b"\n".join(entries) + b"\n")
    return root, ann


EXPECTED_ERRORS = {
    "zero.mp4": "empty file", "truncated.mp4": "cannot open video", "text.mp4": "cannot open video",
    "one_frame.mp4": "only 1 frame(s)", "missing.mp4": "file not found",
    "list.txt:13": "label 7 out of range", "list.txt:14": "malformed line",
}


def test_validator_reports_each_bad_entry(bad_set):
    root, ann = bad_set
    cfg = DataConfig(format="videos", annotation=str(ann), root=str(root), num_classes=2,
                     num_segments=8, segment_length=1)
    report = validate(cfg, workers=2, progress=False)
    assert report.checked == 14 and not report.ok
    errors = {os.path.basename(f.path): f.reason for f in report.errors}
    assert set(errors) == set(EXPECTED_ERRORS), report.errors
    for name, why in EXPECTED_ERRORS.items():
        assert why in errors[name], (name, errors[name])
    warnings = {os.path.basename(f.path): f.reason for f in report.warnings}
    assert "fewer than a clip" in warnings["short.mp4"]
    assert "truncated" in warnings["truncated_faststart.mp4"]
    assert set(warnings) == {"short.mp4", "truncated_faststart.mp4"}
    # every error line names the file and the annotation line it came from
    lines = [f.line() for f in report.errors]
    assert any("zero.mp4 (" in ln and "list.txt:2)" in ln for ln in lines)


def test_training_skips_unreadable_and_reads_odd_inputs(bad_set):
    root, ann = bad_set
    cfg = DataConfig(format="videos", annotation=str(ann), root=str(root), num_classes=2,
                     num_segments=4, input_size=16, resize=[16, 24], on_bad_annotation="skip")
    ds = build_dataset(cfg, train=True)
    assert len(ds) == 12  # the two malformed lines are dropped at parse time
    out = {os.path.basename(os.fsencode(r.path)).decode("utf-8", "backslashreplace"): ds[i]
           for i, r in enumerate(ds.manifest.records)}
    for name in ("zero.mp4", "truncated.mp4", "text.mp4", "one_frame.mp4", "missing.mp4"):
        assert out[name]["clip"] is None and name in out[name]["error"]
    for name in ("good.mp4", "truncated_faststart.mp4", "short.mp4", "gray.mp4", "odd.mp4",
                 "portrait.mp4", "caf\\xe9.mp4"):
        assert out[name]["clip"].shape == (3, 4, 16, 16), name


def test_frame_folder_problems(tmp_path):
    write_frames(tmp_path / "ok", frames_array(10))
    holes = write_frames(tmp_path / "holes", frames_array(10))
    (holes / "00004.jpg").unlink()
    gray = tmp_path / "gray"
    gray.mkdir()
    from PIL import Image
    for i in range(1, 6):
        Image.fromarray(np.full((20, 30), 9 * i, np.uint8), mode="L").save(gray / f"{i:05d}.jpg")
    ann = tmp_path / "train.txt"
    ann.write_text("ok 10 0\nholes 10 0\nnofolder 10 1\ngray 5 1\nok 10\n")
    cfg = DataConfig(format="rawframes", annotation=str(ann), root=str(tmp_path), num_classes=2,
                     frame_template="{:05d}.jpg", num_segments=4, input_size=16, resize=[16, 16])
    report = validate(cfg, workers=1, progress=False)
    errors = {os.path.basename(f.path): f.reason for f in report.errors}
    assert "1 of 10 frames missing (first: 00004.jpg)" in errors["holes"]
    assert "frame folder not found" in errors["nofolder"]
    assert "train.txt:5" in errors and "malformed" in errors["train.txt:5"]
    assert len(report.errors) == 3
    ds = build_dataset(cfg.override({"on_bad_annotation": "skip"}), train=False)
    assert ds[1]["clip"] is None and "00004.jpg is missing" in ds[1]["error"]
    assert ds[3]["clip"].shape == (3, 4, 16, 16)


def test_cli_validate_exit_status_and_json(bad_set, tmp_path, capsys):
    root, ann = bad_set
    rc = main(["data", "validate", str(ann), "--format", "videos", "--root", str(root),
               "--num-classes", "2", "--workers", "1", "--json"])
    assert rc == 1
    rep = json.loads(capsys.readouterr().out)
    assert rep["checked"] == 14 and rep["unusable"] == 7 and not rep["ok"]
    good = tmp_path / "good.txt"
    good.write_text("good.mp4 0\nshort.mp4 1\n")
    rc = main(["data", "validate", str(good), "--format", "videos", "--root", str(root),
               "--num-classes", "2", "--workers", "1"])
    captured = capsys.readouterr()
    assert rc == 0 and "WARNING" in captured.out and "0 unusable" in captured.err
    assert main(["data", "validate", str(tmp_path / "nope.txt"), "--format", "videos"]) == 2


def test_missing_media_skip_drops_missing_videos_when_the_list_is_loaded(bad_set, capsys):
    """Kinetics-400's recipe: videos that no longer exist are dropped from the list (one
    warning), so training never counts them against max_skip_fraction; corrupt files stay
    unusable entries."""
    root, ann = bad_set
    common = dict(format="videos", annotation=str(ann), root=str(root), num_classes=2, num_segments=8,
                  on_bad_annotation="skip")
    kept = build_dataset(DataConfig(**common), train=True)
    dropped = build_dataset(DataConfig(**common, missing_media="skip"), train=True)
    names = lambda ds: {os.path.basename(r.path) for r in ds.manifest.records}  # noqa: E731
    assert "missing.mp4" in names(kept) and names(dropped) == names(kept) - {"missing.mp4"}
    assert "dropped 1 of 12 entries whose media does not exist" in capsys.readouterr().err
    report = validate(DataConfig(**common, missing_media="skip"), workers=1, progress=False)
    assert "missing.mp4" not in {os.path.basename(f.path) for f in report.errors}
    assert any(os.path.basename(f.path) == "missing.mp4" and "dropped" in f.reason for f in report.warnings)
    assert any(os.path.basename(f.path) == "zero.mp4" for f in report.errors)
    with pytest.raises(ValueError, match="missing_media"):
        DataConfig(**common, missing_media="ignore")
