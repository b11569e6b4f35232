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

(each annotation writer's docstring in :mod:`~ean.data.synth.official_annotations` shows its
tree). ``OUT/synth.json`` records the format, profile, seed and damage settings; a re-run
into the same folder must match it and only writes the media that are not there yet. Every
file (and every V1 frame folder) is written under a temporary ``.partial-*`` name and
renamed when complete, so an interrupted run leaves no half-written media; leftovers are
removed by the next run.

Damaged entries (the training split only, chosen deterministically from the seed):
``missing`` entries are listed in the annotation but their media are never written (the
Kinetics situation: videos no longer online); ``corrupt`` entries have media whose bytes are
garbage: the first half of a valid file with its first 16 bytes zeroed (every frame file, for
a V1 folder), which no decoder opens. (A webm merely cut in half still decodes, as a shorter
clip, so truncation alone does not make an unusable entry in every container.)
"""
from __future__ import annotations

import json
import os
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from .class_sets import class_names
from .official_annotations import ENTRY_MAKERS, LAYOUTS, WRITERS, Entry, write_json
from .official_media import make_media, remove_leftovers, webm_codec
from .profiles import SynthProfile, get_profile
from .writer import SPLITS, ClipJob, clip_spec, jobs_for

FORMATS = ("sthv1", "sthv2", "k400", "diving48")
FORMAT_VERSION = 1
GENERATOR = "ean.data.synth.official"   # not "ean.data.synth": ids here are not writer ids

#: the profile used when ``profile=None``: the smoke profile of the format's class set
SMOKE_PROFILES = {"sthv1": "smoke", "sthv2": "smoke", "k400": "kinetics_smoke",
                  "diving48": "diving_smoke"}


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
    remove_leftovers(media_root)

    t0 = time.perf_counter()
    args = [(kind, str(media_root / e.media), e.state, e.job, prof, seed) for e in entries]
    made = 0
    bar = tqdm(total=len(args), desc=f"{fmt} {prof.name}", unit="clip", disable=not progress)
    if workers > 1 and len(args) > 1:
        chunk = max(1, min(8, len(args) // (4 * workers)))
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for new in pool.map(make_media, args, chunksize=chunk):
                made += new
                bar.update()
    else:
        for a in args:
            made += make_media(a)
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
        write_json(meta_path, meta)
