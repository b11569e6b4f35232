"""Kinetics-400: the official CSV, or a class-folder directory.

CSV: header ``label,youtube_id,time_start,time_end,split`` (test CSVs lack ``label``); the
clip of a row is ``{youtube_id}_{time_start:06d}_{time_end:06d}.<ext>``, looked up in
``<root>/<label>/``, ``<root>/<label with spaces as _>/`` and ``<root>/`` (flat), in that
order. A directory given as the annotation is read as ``<dir>/<class>/<video>`` (class =
folder name). Class index = alphabetical position of the class name unless a labels file
with ``label_order: file`` says otherwise.
"""
from __future__ import annotations

import csv
import io
import os

from ..config import DataConfig
from ..labels import read_class_names
from ..manifest import VideoRecord
from .common import Problems, class_index, read_lines

CSV_COLUMNS = ("label", "youtube_id", "time_start", "time_end", "split")


def kinetics_clip_name(youtube_id: str, start: int, end: int) -> str:
    """The official trimmed-clip file stem: ``{id}_{start:06d}_{end:06d}``."""
    return f"{youtube_id}_{int(start):06d}_{int(end):06d}"


def kinetics_class_names(cfg: DataConfig) -> list[str]:
    """From ``cfg.labels`` when given, else every class of the training annotation."""
    if cfg.labels:
        return read_class_names(cfg.labels, cfg.label_order)
    if os.path.isdir(cfg.annotation):
        return sorted(d for d in os.listdir(cfg.annotation)
                      if os.path.isdir(os.path.join(cfg.annotation, d)))
    rows = _csv_rows(cfg.annotation, Problems())
    names = sorted({r["label"] for _, r in rows if r.get("label")})
    if not names:
        raise ValueError(f"no class names in {cfg.annotation}; set DataConfig.labels")
    return names


def parse_k400(path: str, cfg: DataConfig, class_names: list[str],
               problems: Problems) -> list[VideoRecord]:
    """Parse a Kinetics CSV or class-folder directory into records (video files)."""
    if os.path.isdir(path):
        return _parse_class_folders(path, cfg, class_names, problems)
    index = class_index(class_names)
    exts = [e.lstrip(".") for e in cfg.video_ext]
    records = []
    for lineno, row in _csv_rows(path, problems):
        if cfg.split and row.get("split") and row["split"] != cfg.split:
            continue
        try:
            start, end = int(float(row["time_start"])), int(float(row["time_end"]))
        except (TypeError, ValueError):
            problems.add(path, lineno, f"time_start/time_end are not numbers: "
                         f"{row.get('time_start')!r}, {row.get('time_end')!r}")
            continue
        ytid = (row.get("youtube_id") or "").strip()
        if not ytid:
            problems.add(path, lineno, "empty youtube_id")
            continue
        name = (row.get("label") or "").strip()
        if name:
            if name not in index:
                problems.add(path, lineno, f"unknown label {name!r}")
                continue
            label = index[name]
        else:
            label = -1
        stem = kinetics_clip_name(ytid, start, end)
        folders = [os.path.join(cfg.root, name), os.path.join(cfg.root, name.replace(" ", "_")),
                   cfg.root] if name else [cfg.root]
        cands = [os.path.join(f, f"{stem}.{e}") for f in folders for e in exts]
        found = next((c for c in cands if os.path.isfile(c)), cands[0])
        records.append(VideoRecord(found, None, label, name, f"{path}:{lineno}"))
    return records


def _parse_class_folders(path: str, cfg: DataConfig, class_names: list[str],
                         problems: Problems) -> list[VideoRecord]:
    index = class_index(class_names)
    records = []
    for cls in sorted(os.listdir(path)):
        folder = os.path.join(path, cls)
        if not os.path.isdir(folder):
            continue
        key = cls if cls in index else cls.replace("_", " ")
        if key not in index:
            problems.add(folder, None, f"class folder {cls!r} is not a known class")
            continue
        for f in sorted(os.listdir(folder)):
            records.append(VideoRecord(os.path.join(folder, f), None, index[key], key,
                                       os.path.join(folder, f)))
    return records


def _csv_rows(path: str, problems: Problems) -> list[tuple[int, dict]]:
    lines = read_lines(path)
    if not lines:
        problems.add(path, 1, "empty CSV")
        return []
    header = [h.strip() for h in next(csv.reader([lines[0]]))]
    required = {"youtube_id", "time_start", "time_end"}
    if not required <= set(header):
        problems.add(path, 1, f"header {lines[0]!r} lacks {sorted(required - set(header))}; "
                     f"expected {','.join(CSV_COLUMNS)}")
        return []
    rows = []
    reader = csv.reader(io.StringIO("\n".join(lines[1:])))
    for lineno, values in enumerate(reader, 2):
        if not values or not "".join(values).strip():
            continue
        if len(values) != len(header):
            problems.add(path, lineno, f"{len(values)} fields, expected {len(header)} "
                         f"({','.join(header)})")
            continue
        rows.append((lineno, dict(zip(header, (v.strip() for v in values)))))
    return rows
