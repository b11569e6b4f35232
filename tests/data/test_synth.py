"""The embedded synthetic dataset: determinism, balance, format, resumability, the task."""
from __future__ import annotations

import json

import numpy as np
import pytest

from ean.data import build_dataset, flip_pairs, synthetic_config
from ean.data.synth import CLASS_NAMES, PROFILES, clip_spec, generate, jobs_for, render, spec_stats
from ean.data.synth.writer import ClipJob


def test_smoke_layout_is_something_v2(smoke_dataset):
    labels = json.loads((smoke_dataset / "labels.json").read_text())
    assert list(labels) == sorted(labels) and len(labels) == len(CLASS_NAMES) >= 16
    assert [int(v) for v in labels.values()] == list(range(len(labels)))
    train = json.loads((smoke_dataset / "train.json").read_text())
    e = train[0]
    assert set(e) == {"id", "label", "template", "placeholders"} and "[something]" in e["template"]
    assert len(list((smoke_dataset / "videos").glob("*.mp4"))) == len(train) + 18
    assert not list((smoke_dataset / "videos").glob(".*"))  # no temporaries left


def test_class_balance_and_mirror_pairs(smoke_dataset):
    ds = build_dataset(synthetic_config(smoke_dataset, input_size=16, resize=[16, 20]), train=True)
    counts = np.bincount(ds.labels, minlength=18)
    assert counts.tolist() == [PROFILES["smoke"].train_per_class] * 18
    # left/right (moving, pushing, turning the camera) and clockwise/counterclockwise spins
    assert len(flip_pairs(ds.class_names)) == 4


def test_same_seed_same_bytes_other_seed_other_clips(tmp_path, smoke_dataset):
    prof = PROFILES["smoke"].replace(train_per_class=1, val_per_class=0)
    a = generate(tmp_path / "a", prof, seed=0, workers=1, progress=False)
    b = generate(tmp_path / "b", prof, seed=0, workers=2, progress=False)
    c = generate(tmp_path / "c", prof, seed=1, workers=1, progress=False)
    assert a["generated_clips"] == b["generated_clips"] == c["generated_clips"] == 18
    for f in sorted((tmp_path / "a" / "videos").iterdir()):
        assert f.read_bytes() == (tmp_path / "b" / "videos" / f.name).read_bytes()
    # the smoke fixture (3 clips per class) starts with the same 18 clips, bit for bit
    first = sorted((tmp_path / "a" / "videos").iterdir())[0]
    assert first.read_bytes() == (smoke_dataset / "videos" / first.name).read_bytes()
    assert first.read_bytes() != (tmp_path / "c" / "videos" / first.name).read_bytes()
    assert (tmp_path / "a" / "train.json").read_text() == (tmp_path / "b" / "train.json").read_text()


def test_resume_after_interruption_and_settings_guard(tmp_path):
    prof = PROFILES["smoke"].replace(train_per_class=1, val_per_class=0)
    out = tmp_path / "d"
    generate(out, prof, seed=0, workers=1, progress=False)
    victim = out / "videos" / "100003.mp4"
    victim.unlink()
    (out / "videos" / ".partial-x.tmp.mp4").write_bytes(b"half")
    stats = generate(out, prof, seed=0, workers=1, progress=False)
    assert stats["generated_clips"] == 1 and victim.exists()
    assert not list((out / "videos").glob(".*"))
    with pytest.raises(ValueError, match="other settings"):
        generate(out, prof, seed=5, workers=1, progress=False)


def test_study_profile_keeps_event_scale_variation():
    stats = spec_stats(PROFILES["default"].replace(train_per_class=40, val_per_class=0))
    assert stats["splits"]["train"]["frames"]["min"] >= 36 and stats["splits"]["train"]["frames"]["max"] <= 72
    for name, s in stats["per_class"].items():
        assert s["duration_ratio"] >= 2.5, name
    sp = stats["splits"]["train"]
    assert sp["size_px"]["max/min"] >= 2.5 and sp["event_frames"]["max/min"] >= 3.0
    assert sp["distractors"]["max"] == 0


def test_scale_ranges_within_every_class():
    prof = PROFILES["hard"]
    stats = spec_stats(prof.replace(train_per_class=40, val_per_class=0))
    for name, s in stats["per_class"].items():
        assert s["size_ratio"] >= 3.0, name
        assert s["speed_ratio"] >= 3.0, name
        assert s["duration_ratio"] >= 2.5, name
    # over the whole split the claimed ranges are reached
    sp = stats["splits"]["train"]
    assert sp["size_px"]["max/min"] >= 5 and sp["speed_px_per_frame"]["max/min"] >= 8
    assert sp["event_frames"]["max/min"] >= 3.5


def _centroid_x(frames: np.ndarray, bg: np.ndarray) -> np.ndarray:
    diff = np.abs(frames.astype(np.int16) - bg.astype(np.int16)).sum(-1) > 60
    xs = np.arange(frames.shape[2])[None, None, :]
    return (diff * xs).sum((1, 2)) / np.maximum(diff.sum((1, 2)), 1)


def test_order_classes_differ_only_in_direction():
    """Left->right moves the object right; mirrored frame statistics are identical."""
    prof = PROFILES["smoke"].replace(distractors=(0, 0), noise_std=0.0)
    lr = CLASS_NAMES.index("Moving something from left to right")
    rl = CLASS_NAMES.index("Moving something from right to left")
    for k in range(4):
        for label, sign in ((lr, 1), (rl, -1)):
            spec = clip_spec(ClipJob("train", k, label, "0"), prof, 0)
            x = spec.tracks[-1].x
            assert sign * (x[-1] - x[0]) > 0
    # positions visited by both classes cover the same range (a single frame is ambiguous)
    xs = {lab: np.concatenate([clip_spec(ClipJob("train", k, lab, "0"), prof, 0).tracks[-1].x
                               for k in range(200)]) for lab in (lr, rl)}
    assert abs(np.median(xs[lr]) - np.median(xs[rl])) < 0.1 * prof.width


def test_render_is_deterministic():
    prof = PROFILES["smoke"]
    job = jobs_for(prof)[5]
    a = render(clip_spec(job, prof, 0), prof)
    b = render(clip_spec(job, prof, 0), prof)
    assert a.dtype == np.uint8 and a.shape[1:] == (prof.height, prof.width, 3)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("profile", ["smoke", "default", "hard"])
def test_actors_stay_inside_the_frame(profile):
    prof = PROFILES[profile].replace(train_per_class=30, val_per_class=0)
    for job in jobs_for(prof):
        spec = clip_spec(job, prof, 0)
        for t in spec.tracks:
            if t.role != "actor":
                continue
            x, r = t.x - spec.camera_x, t.size / 2 * 0.95
            assert (x - r).min() >= -1 and (x + r).max() <= prof.width + 1, spec.program
            assert (t.y - r).min() >= -1 and (t.y + r).max() <= prof.height + 1, spec.program


def test_clip_lengths_leave_jitter_for_16_segments_of_5_frames():
    """Every clip of the study's sets is long enough that T = 16 segments of L = 5 frames each
    have at least two possible starts: training clips differ from epoch to epoch."""
    from ean.data.sampling import segment_starts_train

    for name in ("default", "study"):
        lo = PROFILES[name].frames[0]
        starts = {tuple(segment_starts_train(lo, 16, 5, np.random.default_rng(s))) for s in range(50)}
        assert all(len({st[t] for st in starts}) >= 2 for t in range(16)), name


def test_zoom_intervention_makes_objects_larger_around_the_centre():
    prof = PROFILES["default"].replace(noise_std=0.0)
    for k in range(6):
        job = ClipJob("validation", k, k % 18, "0")
        a, z = clip_spec(job, prof, 0), clip_spec(job, prof, 0, zoom=1.6)
        for ta, tz in zip(a.tracks, z.tracks):
            assert np.allclose(tz.size, 1.6 * ta.size)
            assert np.allclose(tz.x - prof.width / 2, 1.6 * (ta.x - prof.width / 2))
        assert z.num_frames == a.num_frames and z.event == a.event
    # the rendered object covers 1.6^2 times the area (a clip whose object stays in view)
    from ean.data.synth.rendering import object_masks

    spin = CLASS_NAMES.index("Spinning something clockwise")
    job = ClipJob("validation", spin, spin, "0")
    small = PROFILES["default"].replace(size=(0.2, 0.25))
    area = [object_masks(clip_spec(job, small, 0, zoom=f))[0].sum() for f in (1.0, 1.6)]
    assert area[1] / area[0] == pytest.approx(1.6 ** 2, rel=0.1)


def test_rate_intervention_has_twice_the_frames_over_the_same_event():
    prof = PROFILES["default"].replace(noise_std=0.0)
    for k in range(6):
        job = ClipJob("validation", k, k % 18, "0")
        a, r = clip_spec(job, prof, 0), clip_spec(job, prof, 0, rate=2.0)
        assert r.num_frames == 2 * a.num_frames
        assert r.event == (2 * a.event[0], 2 * a.event[1])
        for ta, tr in zip(a.tracks, r.tracks):    # frame 2t of the fast clip is frame t of the clip
            assert np.allclose(tr.x[::2], ta.x) and np.allclose(tr.size[::2], ta.size)
        fast, slow = render(r, prof), render(a, prof)
        assert np.array_equal(fast[::2], slow)


def test_spins_turn_the_right_way_and_mirror_into_each_other():
    from ean.data.labels import flip_label_map

    prof = PROFILES["smoke"]
    cw, ccw = CLASS_NAMES.index("Spinning something clockwise"), CLASS_NAMES.index("Spinning something counterclockwise")
    for label, sign in ((cw, 1), (ccw, -1)):
        spec = clip_spec(ClipJob("train", 0, label, "0"), prof, 0)
        step = np.diff(spec.tracks[-1].angle)
        moving = step[np.abs(step) > 1e-9]
        assert len(moving) and np.all(sign * moving > np.deg2rad(40)) and np.all(sign * moving < np.deg2rad(70))
    assert flip_label_map(CLASS_NAMES)[cw] == ccw


def test_still_images_hold_the_counted_shape_on_their_own_background():
    from ean.data.synth.class_sets import class_names
    from ean.data.synth.scene import SHAPES

    prof = PROFILES["pretrain"]
    names = class_names("stills")
    assert len(names) == 12 and not set(names) & set(CLASS_NAMES)
    for label in range(12):
        spec = clip_spec(ClipJob("train", label, label, "0"), prof, 0)
        count = ["One", "Two", "Three"].index(names[label].split()[0]) + 1
        shape = next(sh for sh in SHAPES if names[label].split()[1].startswith(sh))
        for t in range(spec.num_frames):
            here = [tr.shape for tr in spec.tracks if tr.size[t] > 0]
            assert here == [shape] * count
        assert spec.frame_backgrounds is not None and len(spec.frame_backgrounds) == spec.num_frames
    frames = render(spec, prof)
    assert not np.array_equal(frames[0], frames[1])
