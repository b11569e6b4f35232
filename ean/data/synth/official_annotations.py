"""The annotations of the official dataset layouts: where each format keeps its files, one
entry maker per format (the record an annotation file holds for a clip) and one annotation
writer per format (see :mod:`ean.data.synth.official`)."""
from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..formats.kinetics import CSV_COLUMNS, kinetics_clip_name
from .writer import ClipJob

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

K400_SPLIT_NAME = {"train": "train", "validation": "val"}   # the CSV's ``split`` column


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
    write_text(out / lay["labels"], "".join(f"{n}\n" for n in names))
    for split, key in (("train", "annotation"), ("validation", "val_annotation")):
        write_text(out / lay[key], "".join(f"{e.record['id']};{e.record['label']}\n"
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
    write_json(out / lay["labels"], {n: str(i) for i, n in enumerate(sorted(names))})
    for split, key in (("train", "annotation"), ("validation", "val_annotation")):
        write_json(out / lay[key], [e.record for e in entries if e.job.split == split])


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
        write_text(out / lay[key], buf.getvalue())


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
    write_json(out / lay["labels"], [diving48_vocab_entry(n) for n in names])
    for split, key in (("train", "annotation"), ("validation", "val_annotation")):
        write_json(out / lay[key], [e.record for e in entries if e.job.split == split])


WRITERS = {"sthv1": _write_sthv1, "sthv2": _write_sthv2, "k400": _write_k400,
           "diving48": _write_diving48}


def _youtube_id(*key) -> tuple[str, bytes]:
    """An 11-character YouTube-like id (``[A-Za-z0-9_-]``) derived from ``key``, and the digest."""
    digest = hashlib.sha256(repr(key).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:11], digest


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_json(path: Path, data) -> None:
    write_text(path, json.dumps(data, indent=1) + "\n")
