"""Dataset and loader: shapes, frame selection, determinism, multi-view, skip reporting."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ean.data import (DataConfig, DataSkipError, EpochSampler, SkipCounter, build_dataset,
                      build_loader, synthetic_config)
from ean.data.decode import open_media

from .conftest import frame_value, frames_array, write_frames, write_video


def make_list(tmp_path, entries):
    ann = tmp_path / "list.txt"
    ann.write_text("".join(f"{p} {lab}\n" for p, lab in entries))
    return ann


def test_video_and_frame_folder_give_the_same_frames(tmp_path):
    f = frames_array(30)
    write_video(tmp_path / "v.mp4", f)
    write_frames(tmp_path / "v", f, "img_{:05d}.jpg")
    cfg = DataConfig(format="videos", annotation="x")
    from ean.data.manifest import VideoRecord
    vid = open_media(VideoRecord(str(tmp_path / "v.mp4"), None, 0), cfg)
    fol = open_media(VideoRecord(str(tmp_path / "v"), None, 0), cfg)
    assert vid.num_frames == fol.num_frames == 30
    idx = [0, 5, 5, 29, 12]
    assert frame_value(vid.read(idx)).tolist() == idx
    assert frame_value(fol.read(idx)).tolist() == idx


def test_dataset_clip_layout_is_segment_major(tmp_path):
    write_video(tmp_path / "a.mp4", frames_array(30))
    ann = make_list(tmp_path, [("a.mp4", 0)])
    cfg = DataConfig(format="videos", annotation=str(ann), root=str(tmp_path), num_segments=4,
                     segment_length=5, input_size=16, resize=[16, 24], num_classes=1)
    ds = build_dataset(cfg, train=False)
    clip = ds.normalize(ds[0]["clip"])
    assert clip.shape == (3, 20, 16, 16)
    # undo the normalisation and read the frame index back from the brightness
    mean = torch.tensor(cfg.mean).view(3, 1, 1, 1)
    std = torch.tensor(cfg.std).view(3, 1, 1, 1)
    values = ((clip * std + mean) * 255).mean(dim=(0, 2, 3)).numpy()
    got = np.round((values - 4) / 8).astype(int)
    tick = 26 / 4
    starts = [int(tick / 2 + k * tick) for k in range(4)]
    assert got.tolist() == [s + l for s in starts for l in range(5)]


def test_smoke_dataset_train_and_multiview(smoke_dataset):
    cfg = synthetic_config(smoke_dataset, input_size=32, resize=[36, 48], num_segments=8,
                           segment_length=5)
    ds = build_dataset(cfg, train=True)
    assert len(ds) == 54 and ds.num_classes == 18
    item = ds[3]
    assert item["clip"].shape == (3, 40, 32, 32) and item["index"] == 3
    ds.set_epoch(1)
    again = ds[(3, 0)]
    assert torch.equal(again["clip"], item["clip"])  # (seed, epoch, index) only
    assert not torch.equal(ds[3]["clip"], item["clip"])  # another epoch
    val = build_dataset(cfg, train=False, num_clips=2, num_crops=3)
    v = val[0]
    assert v["clip"].shape == (6, 3, 40, 32, 32)
    one = build_dataset(cfg, train=False)[0]["clip"]
    # clip-major views: view 1 is clip 0's centre crop; 1 clip uses different offsets
    assert one.shape == (3, 40, 32, 32)


def test_loader_is_deterministic_and_independent_of_workers(smoke_dataset):
    cfg = synthetic_config(smoke_dataset, input_size=16, resize=[18, 24], num_segments=4)
    ds = build_dataset(cfg, train=True)

    def run(workers):
        ld = build_loader(ds, 8, True, seed=3, num_workers=workers)
        ld.sampler.set_epoch(2)
        return [(b["index"].tolist(), b["label"].tolist(), b["clip"].sum().item()) for b in ld]

    a, b = run(0), run(2)
    assert a == b and len(a) == 54 // 8  # drop_last in training
    ld = build_loader(ds, 8, True, seed=3, num_workers=0)
    ld.sampler.set_epoch(2)
    ld.sampler.set_start(16)
    assert [x["index"].tolist() for x in ld] == [x[0] for x in a[2:]]


def test_epoch_sampler_sharding():
    shards = [EpochSampler(10, True, seed=1, rank=r, world_size=3) for r in range(3)]
    got = [list(s) for s in shards]
    assert all(len(g) == 4 for g in got)
    idx = sorted(i for g in got for i, _ in g)
    assert set(idx) == set(range(10)) and len(idx) == 12  # padded by repetition
    s = EpochSampler(10, True, seed=1)
    s.set_epoch(0)
    e0 = [i for i, _ in s]
    s.set_epoch(1)
    assert [i for i, _ in s] != e0 and {e for _, e in s} == {1}


def test_unreadable_samples_are_skipped_and_counted(tmp_path):
    write_video(tmp_path / "good.mp4", frames_array(12))
    (tmp_path / "empty.mp4").write_bytes(b"")
    ann = make_list(tmp_path, [("good.mp4", 0), ("empty.mp4", 1), ("good.mp4", 0), ("gone.mp4", 1)])
    cfg = DataConfig(format="videos", annotation=str(ann), root=str(tmp_path), num_segments=2,
                     input_size=16, resize=[16, 16], num_classes=2)
    ds = build_dataset(cfg, train=True)
    bad = ds[1]
    assert bad["clip"] is None and bad["label"] == 1 and "empty.mp4: empty file" in bad["error"]
    ld = build_loader(ds, 4, True, seed=0, num_workers=0)
    counter = SkipCounter(max_fraction=0.6)
    for batch in ld:
        counter.update(batch)
        assert batch["clip"].shape[0] == 2 and batch["label"].tolist() == [0, 0]
        assert sorted(i for i, _ in batch["skipped"]) == [1, 3]
    assert (counter.seen, counter.skipped) == (4, 2)
    assert "skipped 2 of 4" in counter.report() and "gone.mp4: file not found" in counter.report()
    counter.check()  # 50 % <= 60 %
    with pytest.raises(DataSkipError, match=r"max_skip_fraction=0.01.*Run `ean data validate`"):
        counter.check(0.01)


def test_all_bad_batch_has_no_clip(tmp_path):
    (tmp_path / "x.mp4").write_text("not a video")
    ann = make_list(tmp_path, [("x.mp4", 0)])
    ds = build_dataset(DataConfig(format="videos", annotation=str(ann), root=str(tmp_path),
                                  num_classes=1), train=False)
    batch = next(iter(build_loader(ds, 1, False, num_workers=0)))
    assert batch["clip"] is None and batch["label"].numel() == 0 and len(batch["skipped"]) == 1


def test_decoded_cache_gives_the_same_clips(smoke_dataset):
    from ean.data import build_dataset
    from ean.data.synth import synthetic_config

    plain = build_dataset(synthetic_config(smoke_dataset, input_size=48, resize=0), train=True)
    cached = build_dataset(synthetic_config(smoke_dataset, input_size=48, resize=0, cache=True), train=True)
    for epoch in (0, 1):
        plain.set_epoch(epoch), cached.set_epoch(epoch)
        for i in (0, 5, 17):
            a, b = plain[i], cached[i]
            assert torch.equal(a["clip"], b["clip"]) and a["label"] == b["label"]
    assert len(cached._cache) == 3          # each video decoded once, then reused
    val = build_dataset(synthetic_config(smoke_dataset, input_size=48, resize=0, cache=True), train=False)
    assert torch.equal(val[2]["clip"], build_dataset(
        synthetic_config(smoke_dataset, input_size=48, resize=0), train=False)[2]["clip"])


def test_the_decoded_cache_is_bounded_and_drops_the_least_recently_used(smoke_dataset):
    from ean.data import build_dataset
    from ean.data.synth import synthetic_config

    ds = build_dataset(synthetic_config(smoke_dataset, input_size=48, resize=0, cache=True, cache_mb=1), train=True)
    reads = list(range(12))
    for i in reads:
        ds[i]
        assert ds._cache_bytes == sum(v.frames.numel() for v, _ in ds._cache.values()) <= 2 ** 20
    assert 0 < len(ds._cache) < len(reads)                   # old code: all 12 kept, unbounded
    assert list(ds._cache) == reads[-len(ds._cache):]        # the oldest reads were dropped
    kept = list(ds._cache)[0]
    ds[kept]                                                 # a hit: now the most recent
    assert list(ds._cache)[-1] == kept
    with pytest.raises(ValueError, match="cache_mb"):
        synthetic_config(smoke_dataset, cache=True, cache_mb=0)


def test_decoded_file_gives_the_same_clips(smoke_dataset, tmp_path):
    from ean.data import build_dataset
    from ean.data.decoded import write_decoded
    from ean.data.synth import synthetic_config

    cfg = synthetic_config(smoke_dataset, input_size=48, resize=0)
    info = write_decoded(cfg, tmp_path / "decoded.npz", progress=False)
    assert info["videos"] == 72
    fast = synthetic_config(smoke_dataset, input_size=48, resize=0, cache=True,
                            cache_file=str(tmp_path / "decoded.npz"))
    for train in (True, False):
        a, b = build_dataset(cfg, train=train), build_dataset(fast, train=train)
        for i in (0, 7, 16):
            assert torch.equal(a[i]["clip"], b[i]["clip"])
    import ean.data.dataset as dataset_module

    def no_decoding(*args, **kwargs):
        raise AssertionError("a video was decoded although the decoded file holds it")

    ds = build_dataset(fast, train=True)
    original = dataset_module.open_media
    dataset_module.open_media = no_decoding
    try:
        assert ds[3]["clip"] is not None and 3 in ds._cache    # read from the file, not decoded
    finally:
        dataset_module.open_media = original


def test_evenly_spaced_subset_keeps_every_class():
    """A list that cycles through the classes (as the generated validation lists do): every
    k-th index would pick only some classes; the labelled subset keeps all of them, balanced."""
    from collections import Counter

    from ean.data.dataset import evenly_spaced

    labels = [i % 18 for i in range(900)]
    plain = evenly_spaced(900, 300)
    assert len({labels[i] for i in plain}) == 6          # the trap: 900 / 300 = 3 divides 18
    balanced = evenly_spaced(900, 306, labels)
    counts = Counter(labels[i] for i in balanced)
    assert len(counts) == 18 and set(counts.values()) == {17}
    assert balanced == sorted(set(balanced))
    assert evenly_spaced(900, 0, labels) == list(range(900))
    with pytest.raises(ValueError, match="labels"):
        evenly_spaced(10, 5, [0, 1])


def test_items_are_uint8_and_normalise_to_the_transforms_float_clips(smoke_dataset):
    """Workers send uint8 clips (a quarter of float32's shared memory); `ds.normalize` on the
    device gives exactly the normalised clip of a stand-alone ClipTransform."""
    from ean.data import build_dataset
    from ean.data.synth import synthetic_config
    from ean.data.transforms import ClipTransform

    cfg = synthetic_config(smoke_dataset, input_size=48, resize=0)
    for train, kw in ((True, {}), (False, {"num_clips": 2, "num_crops": 3})):
        ds = build_dataset(cfg, train=train, **kw)
        ds.set_epoch(1)
        item = ds[4]
        assert item["clip"].dtype == torch.uint8                    # old code: float32
        ds.transform = ClipTransform(ds.cfg, train, kw.get("num_crops", 1), ds.class_names)  # normalising
        want = ds[4]["clip"]
        assert want.dtype == torch.float32
        assert torch.equal(ds.normalize(item["clip"]), want)
    with pytest.raises(TypeError, match="uint8"):
        ds.normalize(want)


def test_evaluation_workers_exit_after_each_pass_and_training_workers_persist(smoke_dataset):
    """Old code: every loader's workers persisted, so a run held its validation workers (and
    their prefetched multi-view batches) through all of its training."""
    cfg = synthetic_config(smoke_dataset, input_size=32, resize=0)
    train = build_loader(build_dataset(cfg, train=True), 4, True, num_workers=1)
    val = build_loader(build_dataset(cfg, train=False), 4, False, num_workers=1)
    assert train.persistent_workers and not val.persistent_workers
    first = next(iter(val))
    assert first["clip"].dtype == torch.uint8 and first["clip"].shape[0] == 4
