"""The synthetic clips written in the four official dataset layouts the toolbox reads.

    stats = write_official("data/rehearsal/k400", "k400", missing=2, corrupt=1)
    cfg = DataConfig.from_dict(official_data_config("data/rehearsal/k400", "k400"))

Each format gets the class set it stands in for (``profile=None``): the ``smoke`` profile
(Something classes) for ``sthv1``/``sthv2``, ``kinetics_smoke`` for ``k400`` and
``diving_smoke`` for ``diving48``; any profile of :data:`~ean.data.synth.profiles.PROFILES`
(or a :class:`SynthProfile`) can be given instead. The clips are exactly those of
:func:`ean.data.synth.writer.generate` for the same profile and seed (same specs, same
pixels); only the file names, annotation files and media containers differ:

============  =====================================================  ===========================
format        annotations                                            media
============  =====================================================  ===========================
``sthv1``     ``something-something-v1-{labels,train,validation}``   ``<id>/00001.jpg`` (JPEG)
              ``.csv`` (``<id>;<label>``)
``sthv2``     ``labels.json``, ``train.json``, ``validation.json``   ``<id>.webm`` (VP9)
``k400``      ``annotations/{train,validate}.csv``                   ``<label>/<ytid>_<s>_<e>.mp4``
``diving48``  ``Diving48_vocab.json``, ``Diving48_V2_{train,test}``  ``rgb/<vid_name>.mp4``
              ``.json``
============  =====================================================  ===========================

(each writer's docstring shows its tree). ``OUT/synth.json`` records the format, profile, seed
and damage settings; a re-run into the same folder must match it and only writes the media
that are not there yet. Every file (and every V1 frame folder) is written under a temporary
``.partial-*`` name and renamed when complete, so an interrupted run leaves no half-written
media; leftovers are removed by the next run.

Damaged entries (the training split only, chosen deterministically from the seed):
``missing`` entries are listed in the annotation but their media are never written (the
Kinetics situation: videos no longer online); ``corrupt`` entries have media whose bytes are
garbage: the first half of a valid file with its first 16 bytes zeroed (every frame file, for
a V1 folder), which no decoder opens. (A webm merely cut in half still decodes, as a shorter
clip, so truncation alone does not make an unusable entry in every container.)
"""
from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..formats.kinetics import CSV_COLUMNS, kinetics_clip_name
from .profiles import SynthProfile, get_profile
from .scene import class_names, render
from .writer import SPLITS, ClipJob, clip_spec, encode_mp4, encode_video, jobs_for

FORMATS = ("sthv1", "sthv2", "k400", "diving48")
FORMAT_VERSION = 1
GENERATOR = "ean.data.synth.official"   # not "ean.data.synth": ids here are not writer ids

#: the profile used when ``profile=None``: the smoke profile of the format's class set
SMOKE_PROFILES = {"sthv1": "smoke", "sthv2": "smoke", "k400": "kinetics_smoke",
                  "diving48": "diving_smoke"}

#: where each format keeps its files, relative to ``OUT`` (as in ``data/datasets/*.md``)
LAYOUTS: dict[str, dict[str, str | None]] = {
    "sthv1": {"annotation": "something-something-v1-train.csv",
              "val_annotation": "something-something-v1-validation.csv",
              "labels": "something-something-v1-labels.csv",
              "root": "20bn-something-something-v1"},
    "sthv2": {"annotation": "train.json", "val_annotation": "validation.json",
              "labels": "labels.json", "root": "20bn-something-something-v2"},
    "k400": {"annotation": "annotations/train.csv", "val_annotation": "annotations/validate.csv",
             "labels": None, "root": "videos"},
    "diving48": {"annotation": "Diving48_V2_train.json", "val_annotation": "Diving48_V2_test.json",
                 "labels": "Diving48_vocab.json", "root": "rgb"},
}

V1_FRAME_TEMPLATE = "{:05d}.jpg"    # 1-based, as the 20BN V1 release
V1_JPEG_QUALITY = 90
K400_SPLIT_NAME = {"train": "train", "validation": "val"}   # the CSV's ``split`` column
WEBM_CODECS = ("libvpx-vp9", "libvpx")                      # VP9 (as SSv2), else VP8
_DAMAGED_HEADER = 16


@dataclass(frozen=True)
class Entry:
    """One annotation entry: its clip, its record as the annotation writes it, and its media.

    ``id`` is the entry's name in the annotation (``id``, ``vid_name``, or the K400 clip stem);
    ``media`` is relative to the layout's media root; ``state`` is ``ok``, ``missing`` (media
    never written) or ``corrupt`` (media bytes damaged)."""

    job: ClipJob
    id: str
    label: int
    label_name: str     # the class name the format's parser gives this entry
    frames: int
    record: dict
    media: str
    state: str = "ok"


# -------------------------------------------------------------------------- public API
def write_official(out: str | os.PathLike, fmt: str, profile: str | SynthProfile | None = None,
                   seed: int = 0, missing: int = 0, corrupt: int = 0, workers: int = 2,
                   progress: bool = True) -> dict:
    """Write a generated dataset in the official layout of ``fmt`` under ``out``; returns
    stats (clips per split, classes, missing/corrupt entries written, seconds).

    Args:
        out: dataset folder (created; may hold an earlier, interrupted run of the same call).
        fmt: one of :data:`FORMATS`.
        profile: a profile name or :class:`SynthProfile`; ``None``: :data:`SMOKE_PROFILES`.
        seed: the clips' seed (the same clips as ``ean data synth`` with this profile/seed).
        missing, corrupt: training entries listed without media / with garbage media.
        workers: rendering processes (1: in this process).
        progress: show a tqdm bar.

    Raises:
        ValueError: unknown format, a class set the format cannot name (``diving48`` needs
            the ``diving`` classes), more damaged entries than training clips, or ``out``
            already holds a dataset written with other settings.
    """
    from tqdm import tqdm

    prof = _profile(fmt, profile)
    kind, note = _media_kind(fmt)
    entries = plan(fmt, prof, seed, missing, corrupt, kind=kind)
    out_p = Path(out)
    media_root = out_p / LAYOUTS[fmt]["root"]
    media_root.mkdir(parents=True, exist_ok=True)
    meta = {"generator": GENERATOR, "version": FORMAT_VERSION, "format": fmt, "media": kind,
            "seed": seed, "missing": missing, "corrupt": corrupt, "profile": prof.to_dict(),
            "classes": class_names(prof.classes)}
    _guard(out_p / "synth.json", meta)
    _remove_leftovers(media_root)

    t0 = time.perf_counter()
    args = [(kind, str(media_root / e.media), e.state, e.job, prof, seed) for e in entries]
    made = 0
    bar = tqdm(total=len(args), desc=f"{fmt} {prof.name}", unit="clip", disable=not progress)
    if workers > 1 and len(args) > 1:
        chunk = max(1, min(8, len(args) // (4 * workers)))
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for new in pool.map(_make_media, args, chunksize=chunk):
                made += new
                bar.update()
    else:
        for a in args:
            made += _make_media(a)
            bar.update()
    bar.close()
    WRITERS[fmt](out_p, entries, class_names(prof.classes))
    elapsed = time.perf_counter() - t0

    stats = {"format": fmt, "profile": prof.name, "class_set": prof.classes, "seed": seed,
             "classes": len(class_names(prof.classes)), "media": kind,
             "clips": {s: sum(e.job.split == s for e in entries) for s in SPLITS},
             "missing": [e.id for e in entries if e.state == "missing"],
             "corrupt": [e.id for e in entries if e.state == "corrupt"],
             "generated_clips": made, "seconds": round(elapsed, 2), "workers": workers}
    if note:
        stats["note"] = note
    return stats


def official_data_config(out: str | os.PathLike, fmt: str) -> dict:
    """The ``data`` section (format, annotation, val_annotation, labels, root) that reads the
    dataset written by ``write_official(out, fmt)``. The media need no extra setting: V1 frame
    folders and ``.webm``/``.mp4`` videos are what ``media: auto`` and the default
    ``video_ext`` resolve (also for the mp4 fallback of ``sthv2``)."""
    _check_format(fmt)
    out_p = Path(out)
    d = {"format": fmt}
    for key, rel in LAYOUTS[fmt].items():
        if rel is not None:
            d[key] = str(out_p / rel)
    return d


def plan(fmt: str, profile: str | SynthProfile | None = None, seed: int = 0, missing: int = 0,
         corrupt: int = 0, kind: str | None = None) -> list[Entry]:
    """Every entry :func:`write_official` writes, in annotation order (training split first,
    class ``k % C`` for clip ``k``), without rendering anything."""
    prof = _profile(fmt, profile)
    kind = kind or _media_kind(fmt)[0]
    names = class_names(prof.classes)
    jobs = jobs_for(prof)
    states = _damage_states([j for j in jobs if j.split == "train"], seed, missing, corrupt)
    make = ENTRY_MAKERS[fmt]
    entries = []
    for job in jobs:
        spec = clip_spec(job, prof, seed)
        actors = [f"{tr.colour} {tr.shape}" for tr in spec.tracks if tr.role == "actor"]
        record, eid, media, label_name = make(job, names, seed, spec.num_frames, actors)
        if fmt == "sthv2":
            media = f"{media}.{kind}"
        entries.append(Entry(job, eid, job.label, label_name, spec.num_frames, record, media,
                             states.get(job.k, "ok") if job.split == "train" else "ok"))
    return entries


def diving48_vocab_entry(name: str) -> list[str]:
    """The Diving48 vocabulary entry (take-off, somersaults, twists, flight position) that
    stands for a generated diving class ``"Dive: <t> take-off, <f> flight, <e> entry"``:
    take-off forward/backward -> ``Forward``/``Back``; entry vertical/slanted -> ``15som``/
    ``25som``; flight pike -> ``NoTwis PIKE``, twist -> ``15Twis FREE``, straight -> ``NoTwis
    STR``. The map is one-to-one on the 12 classes."""
    m = re.fullmatch(r"Dive: (\w+) take-off, (\w+) flight, (\w+) entry", name)
    if not m:
        raise ValueError(f"{name!r} is not a generated diving class (the 'diving' class set)")
    takeoff, flight, entry = m.groups()
    twist, position = {"pike": ("NoTwis", "PIKE"), "twist": ("15Twis", "FREE"),
                       "straight": ("NoTwis", "STR")}[flight]
    return [{"forward": "Forward", "backward": "Back"}[takeoff],
            {"vertical": "15som", "slanted": "25som"}[entry], twist, position]


# ---------------------------------------------------------- entries, one maker per format
# Each returns (annotation record, entry id, media path relative to the media root, the
# class name the format's parser gives the entry).
def _sthv1_entry(job: ClipJob, names: list[str], seed: int, frames: int, actors: list[str]):
    name = names[job.label]
    return {"id": job.video_id, "label": name}, job.video_id, job.video_id, name


def _sthv2_entry(job: ClipJob, names: list[str], seed: int, frames: int, actors: list[str]):
    name = names[job.label]
    objects = (actors * 2)[:name.count("something")]
    filled = name
    for obj in objects:
        filled = filled.replace("something", obj, 1)
    record = {"id": job.video_id, "label": filled.lower(),
              "template": name.replace("something", "[something]"), "placeholders": objects}
    return record, job.video_id, job.video_id, name


def _k400_entry(job: ClipJob, names: list[str], seed: int, frames: int, actors: list[str]):
    name = names[job.label]
    ytid, digest = _youtube_id(seed, "k400", job.split, job.k)
    start = int.from_bytes(digest[16:18], "big") % 291
    record = {"label": name, "youtube_id": ytid, "time_start": start, "time_end": start + 10,
              "split": K400_SPLIT_NAME[job.split]}
    stem = kinetics_clip_name(ytid, start, start + 10)
    return record, stem, f"{name}/{stem}.mp4", name


def _diving48_entry(job: ClipJob, names: list[str], seed: int, frames: int, actors: list[str]):
    ytid, _ = _youtube_id(seed, "diving48", job.split, job.k // 8)  # a few dives per video
    vid = f"{ytid}_{job.k:05d}"
    record = {"vid_name": vid, "label": job.label, "start_frame": 0, "end_frame": frames}
    return record, vid, f"{vid}.mp4", " ".join(diving48_vocab_entry(names[job.label]))


ENTRY_MAKERS = {"sthv1": _sthv1_entry, "sthv2": _sthv2_entry, "k400": _k400_entry,
                "diving48": _diving48_entry}


# --------------------------------------------------- annotation writers, one per format
def _write_sthv1(out: Path, entries: list[Entry], names: list[str]) -> None:
    """Something-Something V1 (20BN): CSVs with ``;`` separators, no header::

        OUT/
          something-something-v1-labels.csv       one label per line
          something-something-v1-train.csv        <id>;<label>
          something-something-v1-validation.csv
          20bn-something-something-v1/<id>/00001.jpg ...   1-based {:05d}.jpg frames
    """
    lay = LAYOUTS["sthv1"]
    _write_text(out / lay["labels"], "".join(f"{n}\n" for n in names))
    for split, key in (("train", "annotation"), ("validation", "val_annotation")):
        _write_text(out / lay[key], "".join(f"{e.record['id']};{e.record['label']}\n"
                                            for e in entries if e.job.split == split))


def _write_sthv2(out: Path, entries: list[Entry], names: list[str]) -> None:
    """Something-Something V2: JSON lists; the class is the template without brackets::

        OUT/
          labels.json          {"Covering something with something": "0", ...} (alphabetical)
          train.json           [{"id", "label", "template", "placeholders"}, ...]
          validation.json
          20bn-something-something-v2/<id>.webm     VP9 (mp4 when PyAV lacks libvpx)
    """
    lay = LAYOUTS["sthv2"]
    _write_json(out / lay["labels"], {n: str(i) for i, n in enumerate(sorted(names))})
    for split, key in (("train", "annotation"), ("validation", "val_annotation")):
        _write_json(out / lay[key], [e.record for e in entries if e.job.split == split])


def _write_k400(out: Path, entries: list[Entry], names: list[str]) -> None:
    """Kinetics-400: CSVs ``label,youtube_id,time_start,time_end,split`` (split ``train`` /
    ``val``), clips ``{youtube_id}_{start:06d}_{end:06d}.mp4`` in class folders::

        OUT/
          annotations/train.csv
          annotations/validate.csv
          videos/<label>/<youtube_id>_<time_start>_<time_end>.mp4

    No labels file: the class order is the sorted labels of the training CSV."""
    lay = LAYOUTS["k400"]
    (out / lay["annotation"]).parent.mkdir(parents=True, exist_ok=True)
    for split, key in (("train", "annotation"), ("validation", "val_annotation")):
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
        w.writeheader()
        w.writerows(e.record for e in entries if e.job.split == split)
        _write_text(out / lay[key], buf.getvalue())


def _write_diving48(out: Path, entries: list[Entry], names: list[str]) -> None:
    """Diving48 (V2 annotation files): a vocabulary of word lists, indexed by ``label``::

        OUT/
          Diving48_vocab.json        [["Back", "15som", "NoTwis", "PIKE"], ...]  (one per class)
          Diving48_V2_train.json     [{"vid_name", "label", "start_frame", "end_frame"}, ...]
          Diving48_V2_test.json
          rgb/<vid_name>.mp4         vid_name = <youtube id>_<5 digits>

    The vocabulary holds the generated classes in their index order (12 entries, not 48);
    ``end_frame`` is the clip's frame count."""
    lay = LAYOUTS["diving48"]
    _write_json(out / lay["labels"], [diving48_vocab_entry(n) for n in names])
    for split, key in (("train", "annotation"), ("validation", "val_annotation")):
        _write_json(out / lay[key], [e.record for e in entries if e.job.split == split])


WRITERS = {"sthv1": _write_sthv1, "sthv2": _write_sthv2, "k400": _write_k400,
           "diving48": _write_diving48}


# ------------------------------------------------------------------------------- media
def _media_kind(fmt: str) -> tuple[str, str | None]:
    """``(kind, note)``: ``jpg`` (V1 frame folders), ``webm`` or ``mp4``; the note says why
    ``sthv2`` fell back to mp4."""
    _check_format(fmt)
    if fmt == "sthv1":
        return "jpg", None
    if fmt != "sthv2":
        return "mp4", None
    if webm_codec() is not None:
        return "webm", None
    note = ("PyAV has no libvpx encoder: the sthv2 videos are H.264 <id>.mp4 instead of "
            "VP9 <id>.webm (the parser resolves both)")
    warnings.warn(note, stacklevel=3)
    return "mp4", note


def webm_codec() -> str | None:
    """The first libvpx encoder PyAV offers (``libvpx-vp9``, ``libvpx``), or ``None``."""
    import av

    for name in WEBM_CODECS:
        try:
            av.codec.Codec(name, "w")
            return name
        except Exception:
            continue
    return None


def encode_webm(frames: np.ndarray, path: str | os.PathLike, fps: int = 12, crf: int = 20) -> None:
    """Write ``frames`` (F, H, W, 3) uint8 RGB as a VP9 (else VP8) ``.webm``, atomically.
    Single-threaded libvpx and a bit-exact muxer (no date, fixed ids): the bytes depend only
    on the frames and settings."""
    codec = webm_codec()
    if codec is None:
        raise RuntimeError("PyAV has no libvpx encoder (libvpx-vp9 or libvpx)")
    opts = {"crf": str(crf), "b": "0", "threads": "1", "deadline": "good", "cpu-used": "5"}
    if codec == "libvpx-vp9":
        opts.update({"row-mt": "0", "tile-columns": "0"})
    encode_video(frames, path, "webm", codec, fps, opts, container_options={"fflags": "+bitexact"})


def write_jpeg_folder(frames: np.ndarray, folder: str | os.PathLike,
                      template: str = V1_FRAME_TEMPLATE, start: int = 1,
                      quality: int = V1_JPEG_QUALITY) -> None:
    """Write ``frames`` as ``folder/<template.format(start + i)>`` JPEGs, atomically (a
    ``.partial-*`` folder renamed when complete)."""
    from PIL import Image

    folder = Path(folder)
    tmp = Path(tempfile.mkdtemp(prefix=".partial-", dir=folder.parent))
    try:
        for i, f in enumerate(frames):
            Image.fromarray(f).save(tmp / template.format(start + i), quality=quality)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def damage(path: str | os.PathLike) -> None:
    """Make a media file (or every file of a frame folder) garbage: keep the first half of
    its bytes and zero the first 16 of them."""
    path = Path(path)
    for f in sorted(path.iterdir()) if path.is_dir() else [path]:
        data = f.read_bytes()
        half = data[: max(len(data) // 2, _DAMAGED_HEADER)]
        f.write_bytes(bytes(_DAMAGED_HEADER) + half[_DAMAGED_HEADER:])


def _write_media(kind: str, frames: np.ndarray, path: Path, prof: SynthProfile) -> None:
    if kind == "jpg":
        write_jpeg_folder(frames, path)
    elif kind == "webm":
        encode_webm(frames, path, prof.fps, prof.crf)
    else:
        encode_mp4(frames, path, prof.fps, prof.crf)


def _make_media(args: tuple[str, str, str, ClipJob, SynthProfile, int]) -> bool:
    """Render and write one entry's media unless it exists (or is to stay missing)."""
    kind, path, state, job, prof, seed = args
    path = Path(path)
    if state == "missing" or path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = render(clip_spec(job, prof, seed), prof)
    if state != "corrupt":
        _write_media(kind, frames, path, prof)
        return True
    tmp = path.with_name(f".partial-corrupt-{path.name}")
    _write_media(kind, frames, tmp, prof)
    damage(tmp)
    os.replace(tmp, path)
    return True


def _remove_leftovers(media_root: Path) -> None:
    """Delete the ``.partial-*`` files and folders of an interrupted run."""
    for p in sorted(media_root.rglob(".partial-*"), key=lambda q: len(q.parts), reverse=True):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        elif p.exists():
            p.unlink()


# ----------------------------------------------------------------------------- helpers
def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown official format {fmt!r}; choose from {', '.join(FORMATS)}")


def _profile(fmt: str, profile: str | SynthProfile | None) -> SynthProfile:
    _check_format(fmt)
    if profile is None:
        profile = SMOKE_PROFILES[fmt]
    prof = get_profile(profile) if isinstance(profile, str) else profile
    if fmt == "diving48" and prof.classes != "diving":
        raise ValueError(f"format diving48 names its classes by the Diving48 vocabulary, which "
                         f"needs the 'diving' class set; profile {prof.name!r} has "
                         f"{prof.classes!r} (use e.g. 'diving_smoke')")
    return prof


def _damage_states(train_jobs: list[ClipJob], seed: int, missing: int, corrupt: int) -> dict[int, str]:
    """``{k: "missing" | "corrupt"}`` for a seeded choice of training clips."""
    if missing < 0 or corrupt < 0:
        raise ValueError(f"missing={missing} and corrupt={corrupt} must be >= 0")
    if missing + corrupt > len(train_jobs):
        raise ValueError(f"missing + corrupt = {missing + corrupt} exceeds the "
                         f"{len(train_jobs)} training clips")
    if missing + corrupt == 0:
        return {}
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 0x0FF1C1A1])))
    picks = rng.choice(len(train_jobs), size=missing + corrupt, replace=False)
    return {int(train_jobs[i].k): ("missing" if n < missing else "corrupt")
            for n, i in enumerate(picks)}


def _youtube_id(*key) -> tuple[str, bytes]:
    """An 11-character YouTube-like id (``[A-Za-z0-9_-]``) derived from ``key``, and the digest."""
    digest = hashlib.sha256(repr(key).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:11], digest


def _guard(meta_path: Path, meta: dict) -> None:
    """Write ``synth.json``, or check that the one there matches ``meta``."""
    if meta_path.exists():
        old = json.loads(meta_path.read_text())
        if json.loads(json.dumps(meta)) != old:
            raise ValueError(f"{meta_path.parent} already holds a dataset written with other "
                             f"settings (format {old.get('format')!r}, profile "
                             f"{old.get('profile', {}).get('name')!r}, seed {old.get('seed')}, "
                             f"missing {old.get('missing')}, corrupt {old.get('corrupt')}, media "
                             f"{old.get('media')!r}); choose an empty folder")
    else:
        _write_json(meta_path, meta)


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _write_json(path: Path, data) -> None:
    _write_text(path, json.dumps(data, indent=1) + "\n")
