"""Writing the synthetic dataset: H.264 ``.mp4`` clips plus Something V2 JSON annotations.

Layout of ``OUT``::

    OUT/labels.json            {label text: "index"}  (alphabetical, as Something)
    OUT/train.json             [{"id", "label", "template", "placeholders"}, ...]
    OUT/validation.json
    OUT/videos/<id>.mp4        H.264, yuv420p
    OUT/synth.json             profile, seed, version (a re-run must match it)
    OUT/stats.json             per-clip statistics and the generation time

Every clip is written to a temporary file and renamed when complete, so an interrupted run
leaves no half-written clip; re-running the same command only generates what is missing.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import DataConfig
from .profiles import SynthProfile, get_profile
from .class_sets import CLASS_SETS, class_names
from .rendering import render
from .scene import ClipSpec
from .spec import make_spec

FORMAT_VERSION = 2
SPLITS = ("train", "validation")
_SPLIT_CODE = {"train": 0, "validation": 1}
ID_BASE = {"train": 100000, "validation": 500000}


@dataclass(frozen=True)
class ClipJob:
    split: str
    k: int          # index within the split
    label: int
    video_id: str


def jobs_for(prof: SynthProfile) -> list[ClipJob]:
    """All clips of a profile: class ``k % C`` for clip ``k`` (exactly balanced)."""
    C = len(class_names(prof.classes))
    out = []
    for split in SPLITS:
        n = (prof.train_per_class if split == "train" else prof.val_per_class) * C
        out += [ClipJob(split, k, k % C, str(ID_BASE[split] + k)) for k in range(n)]
    return out


def clip_spec(job: ClipJob, prof: SynthProfile, seed: int, zoom: float = 1.0, rate: float = 1.0) -> ClipSpec:
    """The spec of one clip: depends only on (seed, split, k) and the profile; ``zoom`` and
    ``rate`` re-render the same clip zoomed or at another frame rate."""
    rng = np.random.Generator(np.random.PCG64(
        np.random.SeedSequence([seed, _SPLIT_CODE[job.split], job.k])))
    return make_spec(job.label, rng, prof, zoom=zoom, rate=rate)


def encode_mp4(frames: np.ndarray, path: str | os.PathLike, fps: int = 12, crf: int = 20) -> None:
    """Write ``frames`` (F, H, W, 3) uint8 RGB as H.264/yuv420p MP4, atomically
    (a temporary file in the same folder, renamed when complete). Single-threaded x264,
    so the bytes depend only on the frames and settings."""
    encode_video(frames, path, "mp4", "libx264", fps,
                 {"crf": str(crf), "preset": "superfast", "threads": "1",
                  "x264-params": "threads=1:sliced-threads=0"})


def encode_video(frames: np.ndarray, path: str | os.PathLike, container_format: str, codec: str, fps: int,
                 options: dict[str, str], container_options: dict[str, str] | None = None) -> None:
    """Encode ``frames`` (F, H, W, 3) uint8 RGB as yuv420p with PyAV into ``path``, atomically:
    a temporary file in the same folder, renamed when complete (removed on any failure)."""
    import av

    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".partial-", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    try:
        with av.open(tmp, mode="w", format=container_format, container_options=container_options or {}) as container:
            stream = container.add_stream(codec, rate=fps)
            stream.width, stream.height = frames.shape[2], frames.shape[1]
            stream.pix_fmt = "yuv420p"
            stream.options = options
            for f in frames:
                for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _make_clip(args: tuple[ClipJob, SynthProfile, int, str]) -> tuple[ClipJob, dict, bool]:
    job, prof, seed, out = args
    spec = clip_spec(job, prof, seed)
    path = os.path.join(out, "videos", f"{job.video_id}.mp4")
    made = False
    if not os.path.exists(path):
        encode_mp4(render(spec, prof), path, prof.fps, prof.crf)
        made = True
    return job, spec.stats, made


def _entry(job: ClipJob, spec_objects: list[str], names: list[str]) -> dict:
    name = names[job.label]
    template = name.replace("something", "[something]")
    filled = name
    for obj in spec_objects:
        filled = filled.replace("something", obj, 1)
    return {"id": job.video_id, "label": filled.lower(), "template": template,
            "placeholders": spec_objects}


def _write_json(path: Path, data) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def generate(out: str | os.PathLike, profile: str | SynthProfile = "default", seed: int = 0,
             workers: int = 2, progress: bool = True) -> dict:
    """Generate (or complete) a synthetic dataset in ``out``; returns the statistics dict.

    Raises:
        ValueError: ``out`` already holds a dataset made with another profile/seed.
    """
    from tqdm import tqdm

    prof = get_profile(profile) if isinstance(profile, str) else profile
    out_p = Path(out)
    (out_p / "videos").mkdir(parents=True, exist_ok=True)
    meta = {"generator": "ean.data.synth", "version": FORMAT_VERSION, "seed": seed,
            "profile": prof.to_dict(), "classes": class_names(prof.classes)}
    meta_path = out_p / "synth.json"
    if meta_path.exists():
        old = json.loads(meta_path.read_text())
        if json.loads(json.dumps(meta)) != old:
            raise ValueError(f"{out_p} already holds a synthetic dataset made with other "
                             f"settings (profile {old.get('profile', {}).get('name')!r}, seed "
                             f"{old.get('seed')}); choose an empty folder")
    else:
        _write_json(meta_path, meta)
    # remove leftovers of an interrupted run
    for leftover in (out_p / "videos").glob(".*.tmp.mp4"):
        leftover.unlink()
    jobs = jobs_for(prof)
    t0 = time.perf_counter()
    results: dict[ClipJob, dict] = {}
    made = 0
    args = [(j, prof, seed, str(out_p)) for j in jobs]
    bar = tqdm(total=len(jobs), desc=f"synth {prof.name}", unit="clip", disable=not progress)
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for job, stats, new in pool.map(_make_clip, args, chunksize=8):
                results[job], made = stats, made + new
                bar.update()
    else:
        for a in args:
            job, stats, new = _make_clip(a)
            results[job], made = stats, made + new
            bar.update()
    bar.close()
    elapsed = time.perf_counter() - t0

    names = class_names(prof.classes)
    labels = {name: str(i) for i, name in enumerate(names)}
    _write_json(out_p / "labels.json", labels)
    for split in SPLITS:
        entries = []
        for j in jobs:
            if j.split == split:
                spec = clip_spec(j, prof, seed)
                objs = [f"{tr.colour} {tr.shape}" for tr in spec.tracks if tr.role == "actor"]
                n_some = names[j.label].count("something")
                entries.append(_entry(j, (objs * 2)[:n_some], names))
        _write_json(out_p / f"{split}.json", entries)
    stats = summarize(jobs, results, prof)
    stats.update({"seed": seed, "generated_clips": made, "seconds": round(elapsed, 2),
                  "workers": workers})
    _write_json(out_p / "stats.json", stats)
    return stats


def summarize(jobs: list[ClipJob], results: dict, prof: SynthProfile) -> dict:
    """Per-split and per-class statistics of the clips (from their specs)."""
    def rng_of(values):
        v = np.asarray(values, dtype=np.float64)
        return {"min": round(float(v.min()), 2), "mean": round(float(v.mean()), 2),
                "max": round(float(v.max()), 2), "max/min": round(float(v.max() / v.min()), 2) if v.min() > 0 else None}

    names = class_names(prof.classes)
    class_set = CLASS_SETS[prof.classes]
    out = {"profile": prof.name, "classes": prof.classes, "num_classes": len(names),
           "height": prof.height, "width": prof.width, "fps": prof.fps, "splits": {},
           "per_class": {}}
    for split in SPLITS:
        sel = [results[j] for j in jobs if j.split == split]
        if not sel:
            continue
        out["splits"][split] = {
            "clips": len(sel),
            "frames": rng_of([s["frames"] for s in sel]),
            "event_frames": rng_of([s["event_frames"] for s in sel]),
            "size_px": rng_of([s["size_px"] for s in sel]),
            "speed_px_per_frame": rng_of([s["speed_px_per_frame"] for s in sel]),
            "distractors": rng_of([s["distractors"] for s in sel]),
        }
    for label, name in enumerate(names):
        sel = [results[j] for j in jobs if j.label == label and j.split == "train"]
        out["per_class"][name] = {
            "index": label, "program": class_set.program(name),
            "train": len(sel),
            "val": sum(1 for j in jobs if j.label == label and j.split == "validation"),
            "size_px": rng_of([s["size_px"] for s in sel]),
            "event_frames": rng_of([s["event_frames"] for s in sel]),
            "size_ratio": rng_of([s["size_px"] for s in sel])["max/min"],
            "speed_ratio": rng_of([s["speed_px_per_frame"] for s in sel])["max/min"],
            "duration_ratio": rng_of([s["event_frames"] for s in sel])["max/min"],
        }
    return out


def spec_stats(profile: str | SynthProfile = "default", seed: int = 0) -> dict:
    """Statistics of a profile computed from the clip specs alone (no rendering)."""
    prof = get_profile(profile) if isinstance(profile, str) else profile
    jobs = jobs_for(prof)
    return summarize(jobs, {j: clip_spec(j, prof, seed).stats for j in jobs}, prof)


def synthetic_config(root: str | os.PathLike, **overrides) -> DataConfig:
    """DataConfig reading a dataset written by :func:`generate` (Something V2 format)."""
    root = Path(root)
    d = {"format": "sthv2", "annotation": str(root / "train.json"),
         "val_annotation": str(root / "validation.json"), "labels": str(root / "labels.json"),
         "root": str(root / "videos"), "media": "video", "video_ext": ["mp4"]}
    d.update(overrides)
    return DataConfig.from_dict(d)
