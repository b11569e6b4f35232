"""Clips per second for one loader worker: H.264 .mp4 (decord) vs JPEG frame folder.

Something-style input: 8 segments x 5 consecutive frames (LMC), frames resized to 240x320,
multi-scale crop + flip to 224x224, ImageNet normalisation -- the training pipeline.
The same frames are stored both ways: the JPEG folders hold the frames decoded from the
.mp4 files. One process, one intra-op thread (what one DataLoader worker does).

    python benchmarks/data_loading.py [--videos 8] [--frames 48] [--clips 80] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def make_media(root: Path, n_videos: int, n_frames: int) -> None:
    from PIL import Image

    from ean.data.decode import VideoFileReader
    from ean.data.config import DataConfig
    from ean.data.synth import PROFILES, clip_spec, encode_mp4, jobs_for, render

    prof = PROFILES["default"].replace(height=240, width=320, frames=(n_frames, n_frames))
    jobs = jobs_for(prof)[:n_videos]
    (root / "mp4").mkdir(parents=True)
    (root / "jpg").mkdir()
    lines_v, lines_f = [], []
    for j in jobs:
        mp4 = root / "mp4" / f"{j.video_id}.mp4"
        encode_mp4(render(clip_spec(j, prof, 0), prof), mp4, prof.fps, crf=20)
        reader = VideoFileReader(str(mp4), DataConfig())
        frames = reader.read(np.arange(reader.num_frames)).permute(0, 2, 3, 1).numpy()
        folder = root / "jpg" / j.video_id
        folder.mkdir()
        for i, f in enumerate(frames, 1):
            Image.fromarray(f).save(folder / f"{i:05d}.jpg", quality=95)
        lines_v.append(f"mp4/{j.video_id}.mp4 {j.label}")
        lines_f.append(f"jpg/{j.video_id} {len(frames)} {j.label}")
    (root / "videos.txt").write_text("\n".join(lines_v) + "\n")
    (root / "frames.txt").write_text("\n".join(lines_f) + "\n")


def bench(ds, n_clips: int, decode_only: bool) -> float:
    from ean.data.decode import open_media
    from ean.data.sampling import sample_train

    for i in range(min(len(ds), 4)):  # warm-up
        ds[i]
    t0 = time.perf_counter()
    for k in range(n_clips):
        i = k % len(ds)
        if decode_only:
            rec = ds.manifest.records[i]
            reader = open_media(rec, ds.cfg)
            idx = sample_train(reader.num_frames, 8, 5, np.random.default_rng(k))
            reader.read(idx)
        else:
            ds.set_epoch(k // len(ds))
            assert ds[i]["clip"] is not None
    return n_clips / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=8)
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--clips", type=int, default=80)
    ap.add_argument("--out", default=None, help="also write the results as JSON here")
    args = ap.parse_args()
    torch.set_num_threads(1)

    from ean.data import DataConfig, build_dataset

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_media(root, args.videos, args.frames)
        size_mp4 = sum(f.stat().st_size for f in (root / "mp4").iterdir())
        size_jpg = sum(f.stat().st_size for f in (root / "jpg").rglob("*.jpg"))
        results = {}
        for kind, fmt, ann in (("mp4 (decord)", "videos", "videos.txt"),
                               ("jpeg folder (PIL)", "rawframes", "frames.txt")):
            cfg = DataConfig(format=fmt, annotation=str(root / ann), root=str(root),
                             num_segments=8, segment_length=5, input_size=224, resize=[240, 320],
                             flip="swap", num_classes=18, frame_template="{:05d}.jpg")
            ds = build_dataset(cfg, train=True)
            results[kind] = {"clips_per_s": round(bench(ds, args.clips, False), 2),
                             "decode_only_clips_per_s": round(bench(ds, args.clips, True), 2)}
    report = {
        "setup": f"{args.videos} videos x {args.frames} frames, 240x320 source, clip 8x5 at "
                 f"224x224 (training transforms), 1 process, 1 thread, warm page cache",
        "storage_bytes": {"mp4": size_mp4, "jpeg": size_jpg},
        "results": results,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
                   f"torch {torch.__version__}",
    }
    print(json.dumps(report, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
