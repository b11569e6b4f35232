"""Generated clips written in the four official layouts (ean.data.synth.official) and read back
through the repository's own parsers, decoders, dataset and validator."""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from ean.data import DataConfig, build_dataset, load_manifest, open_media
from ean.data.formats import class_names_for
from ean.data.synth import clip_spec, get_profile, jobs_for
from ean.data.synth.class_sets import class_names
from ean.data.synth.official import FORMATS, SMOKE_PROFILES, official_data_config, plan, write_official
from ean.data.synth.official_annotations import diving48_vocab_entry
from ean.data.synth.official_media import webm_codec
from ean.data.validate import validate

SMALL = {"num_segments": 4, "input_size": 32, "resize": 0}   # a fast clip pipeline


def tiny(fmt: str, val: int = 1):
    """One training (and ``val``) clip per class of the format's smoke profile."""
    return get_profile(SMOKE_PROFILES[fmt]).replace(train_per_class=1, val_per_class=val)


def expected_names(fmt: str) -> list[str]:
    names = class_names(tiny(fmt).classes)
    return [" ".join(diving48_vocab_entry(n)) for n in names] if fmt == "diving48" else names


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Each format written once (workers=1) into its own folder: {fmt: (out, stats)}."""
    done = {}

    def get(fmt: str):
        if fmt not in done:
            out = tmp_path_factory.mktemp(fmt)
            done[fmt] = out, write_official(out, fmt, tiny(fmt), seed=3, workers=1, progress=False)
        return done[fmt]
    return get


@pytest.mark.parametrize("fmt", FORMATS)
def test_loads_through_the_official_parsers(fmt, written):
    out, stats = written(fmt)
    prof = tiny(fmt)
    C = len(class_names(prof.classes))
    assert stats["classes"] == C and stats["clips"] == {"train": C, "validation": C}
    assert stats["generated_clips"] == 2 * C and stats["missing"] == stats["corrupt"] == []
    assert stats["profile"] == prof.name and stats["class_set"] == prof.classes
    assert not list(out.rglob(".partial-*")) and not list(out.rglob("*.tmp"))
    d = official_data_config(out, fmt)
    assert d["format"] == fmt and all(Path(v).exists() for k, v in d.items() if k != "format")
    cfg = DataConfig.from_dict(d)
    assert class_names_for(cfg) == expected_names(fmt)
    for train, split in ((True, "train"), (False, "validation")):
        m = load_manifest(cfg, train=train)
        jobs = [j for j in jobs_for(prof) if j.split == split]
        assert len(m.records) == len(jobs) == C and not m.problems
        assert [r.label for r in m.records] == [j.label for j in jobs] == [k % C for k in range(C)]
        assert [r.label_name for r in m.records] == [expected_names(fmt)[j.label] for j in jobs]
        for r, j in zip(m.records, jobs):
            assert open_media(r, cfg).num_frames == clip_spec(j, prof, 3).num_frames, r.path
        ds = build_dataset(cfg.override(SMALL), train=train)
        assert len(ds) == C
        assert tuple(ds[0]["clip"].shape) == (3, 4, 32, 32)


def test_sthv1_layout(written):
    out, _ = written("sthv1")
    labels = (out / "something-something-v1-labels.csv").read_text().splitlines()
    assert labels == class_names("something")
    for split in ("train", "validation"):
        lines = (out / f"something-something-v1-{split}.csv").read_text().splitlines()
        ids = [j.video_id for j in jobs_for(tiny("sthv1")) if j.split == split]
        assert [ln.split(";")[0] for ln in lines] == ids
        assert all(re.fullmatch(r"\d+;[^;]+", ln) and ln.split(";")[1] in labels for ln in lines)
    job = jobs_for(tiny("sthv1"))[0]
    folder = out / "20bn-something-something-v1" / job.video_id
    n = clip_spec(job, tiny("sthv1"), 3).num_frames
    assert sorted(p.name for p in folder.iterdir()) == [f"{i:05d}.jpg" for i in range(1, n + 1)]


def test_sthv2_layout_webm(written):
    import av

    out, stats = written("sthv2")
    labels = json.loads((out / "labels.json").read_text())
    assert list(labels) == sorted(labels) == class_names("something")
    assert [int(v) for v in labels.values()] == list(range(len(labels)))
    train = json.loads((out / "train.json").read_text())
    assert all(set(e) == {"id", "label", "template", "placeholders"} for e in train)
    assert all(e["template"].replace("[", "").replace("]", "") in labels for e in train)
    assert all(e["template"].count("[something]") == len(e["placeholders"]) for e in train)
    videos = sorted((out / "20bn-something-something-v2").iterdir())
    assert len(videos) == 2 * len(labels)
    if webm_codec() is None:  # the documented fallback
        assert stats["media"] == "mp4" and "libvpx" in stats["note"]
        return
    assert stats["media"] == "webm" and {v.suffix for v in videos} == {".webm"}
    with av.open(str(videos[0])) as c:
        assert c.format.name.startswith("matroska") and c.streams.video[0].codec_context.name in ("vp9", "vp8")


def test_k400_layout(written):
    out, _ = written("k400")
    for name, split in (("train", "train"), ("validate", "val")):
        text = (out / "annotations" / f"{name}.csv").read_text()
        assert text.splitlines()[0] == "label,youtube_id,time_start,time_end,split"
        rows = list(csv.DictReader(text.splitlines()))
        assert {r["split"] for r in rows} == {split} and len(rows) == 12
        for r in rows:
            assert re.fullmatch(r"[A-Za-z0-9_-]{11}", r["youtube_id"])
            s, e = int(r["time_start"]), int(r["time_end"])
            assert e - s == 10
            assert (out / "videos" / r["label"] / f"{r['youtube_id']}_{s:06d}_{e:06d}.mp4").is_file()
    assert sorted(p.name for p in (out / "videos").iterdir()) == class_names("kinetics")


def test_diving48_layout(written):
    out, _ = written("diving48")
    vocab = json.loads((out / "Diving48_vocab.json").read_text())
    assert len(vocab) == 12 and all(isinstance(v, list) and len(v) == 4 for v in vocab)
    assert len({tuple(v) for v in vocab}) == 12        # one-to-one
    assert {v[0] for v in vocab} == {"Forward", "Back"} and {v[3] for v in vocab} == {"PIKE", "FREE", "STR"}
    prof = tiny("diving48")
    for name, split in (("train", "train"), ("test", "validation")):
        entries = json.loads((out / f"Diving48_V2_{name}.json").read_text())
        jobs = [j for j in jobs_for(prof) if j.split == split]
        assert [set(e) for e in entries] == [{"vid_name", "label", "start_frame", "end_frame"}] * len(jobs)
        assert [e["label"] for e in entries] == [j.label for j in jobs]
        assert [e["end_frame"] - e["start_frame"] for e in entries] == \
            [clip_spec(j, prof, 3).num_frames for j in jobs]
        assert all(re.fullmatch(r"[A-Za-z0-9_-]{11}_\d{5}", e["vid_name"]) for e in entries)
        assert all((out / "rgb" / f"{e['vid_name']}.mp4").is_file() for e in entries)


@pytest.mark.parametrize("fmt", FORMATS)
def test_missing_and_corrupt_entries(fmt, tmp_path):
    prof = tiny(fmt, val=0)
    stats = write_official(tmp_path, fmt, prof, seed=1, missing=1, corrupt=1, workers=2, progress=False)
    assert len(stats["missing"]) == len(stats["corrupt"]) == 1
    assert stats["generated_clips"] == stats["clips"]["train"] - 1
    d = official_data_config(tmp_path, fmt)
    cfg = DataConfig.from_dict(d)
    records = load_manifest(cfg).records
    assert len(records) == stats["clips"]["train"]      # both are listed
    miss = [r.path for r in records if stats["missing"][0] in Path(r.path).name]
    bad = [r.path for r in records if stats["corrupt"][0] in Path(r.path).name]
    assert len(miss) == len(bad) == 1 and not Path(miss[0]).exists() and Path(bad[0]).exists()
    miss, bad = miss[0], bad[0]

    report = validate(cfg, workers=1, progress=False)
    assert sorted(f.path.startswith(bad) for f in report.errors) == [False, True], report.errors
    (m,) = [f for f in report.errors if f.path == miss]
    assert "not found" in m.reason and not report.warnings

    skip = DataConfig.from_dict(d | {"missing_media": "skip"})
    report = validate(skip, workers=1, progress=False)
    assert [f.path.startswith(bad) for f in report.errors] == [True]
    assert [f.path for f in report.warnings] == [miss]
    kept = load_manifest(skip).records
    assert [r.path for r in kept] == [r.path for r in records if r.path != miss]
    ds = build_dataset(skip.override(SMALL), train=True)
    item = ds[[r.path for r in kept].index(bad)]
    assert item["clip"] is None and "error" in item


def test_rerun_completes_only_what_is_missing_and_guards_settings(tmp_path):
    prof = tiny("k400", val=0)
    first = write_official(tmp_path, "k400", prof, seed=2, missing=1, corrupt=1, workers=1, progress=False)
    videos = tmp_path / "videos"
    files = {p: p.read_bytes() for p in videos.rglob("*.mp4")}
    victim = sorted(files)[0]
    victim.unlink()
    (victim.parent / ".partial-x.tmp.mp4").write_bytes(b"half")
    again = write_official(tmp_path, "k400", prof, seed=2, missing=1, corrupt=1, workers=1, progress=False)
    assert again["generated_clips"] == 1 and again["missing"] == first["missing"]
    assert {p: p.read_bytes() for p in videos.rglob("*.mp4")} == files     # same bytes, none extra
    assert not list(tmp_path.rglob(".partial-*"))
    for changed in ({"seed": 5}, {"missing": 0}, {"corrupt": 2}):
        kw = {"seed": 2, "missing": 1, "corrupt": 1} | changed
        with pytest.raises(ValueError, match="other settings"):
            write_official(tmp_path, "k400", prof, workers=1, progress=False, **kw)
    with pytest.raises(ValueError, match="other settings"):
        write_official(tmp_path, "diving48", tiny("diving48", val=0), workers=1, progress=False)


def test_plan_choices_and_argument_checks():
    a = plan("k400", tiny("k400"), seed=0, missing=2, corrupt=1)
    assert a == plan("k400", tiny("k400"), seed=0, missing=2, corrupt=1)         # deterministic
    assert [e.state for e in a].count("missing") == 2 and [e.state for e in a].count("corrupt") == 1
    assert all(e.state == "ok" for e in a if e.job.split == "validation")
    assert [e.state for e in a] != [e.state for e in plan("k400", tiny("k400"), seed=1, missing=2, corrupt=1)]
    assert len({e.id for e in a}) == len(a)                                      # unique clip names
    assert plan("sthv1")[0].job in jobs_for(get_profile("smoke"))               # profile=None: smoke
    assert len(plan("diving48")) == len(jobs_for(get_profile("diving_smoke")))
    with pytest.raises(ValueError, match="exceeds"):
        plan("k400", tiny("k400"), missing=12, corrupt=1)
    with pytest.raises(ValueError, match="diving"):
        plan("diving48", get_profile("smoke"))
    with pytest.raises(ValueError, match="unknown official format"):
        official_data_config("/tmp", "ucf101")
