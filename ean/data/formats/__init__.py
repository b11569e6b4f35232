"""Annotation parsers: every supported format becomes one :class:`~ean.data.manifest.Manifest`.

    manifest = load_manifest(cfg, train=True)   # cfg.annotation
    manifest = load_manifest(cfg, train=False)  # cfg.val_annotation (or cfg.annotation)
"""
from __future__ import annotations

import os
import sys
from typing import Callable

from ..config import DataConfig
from ..manifest import AnnotationError, Manifest, VideoRecord, display_path
from .common import Problems
from .diving48 import diving48_class_names, parse_diving48
from .kinetics import kinetics_class_names, kinetics_clip_name, parse_k400
from .lists import list_class_names, parse_list
from .something import parse_sthv1, parse_sthv2, something_class_names

Parser = Callable[[str, DataConfig, list, Problems], list]

_PARSERS: dict[str, tuple[Callable[[DataConfig], list[str]], Parser]] = {
    "sthv1": (something_class_names, parse_sthv1),
    "sthv2": (something_class_names, parse_sthv2),
    "k400": (kinetics_class_names, parse_k400),
    "diving48": (diving48_class_names, parse_diving48),
    "rawframes": (list_class_names, parse_list),
    "videos": (list_class_names, parse_list),
}

__all__ = ["load_manifest", "class_names_for", "parse_annotation", "kinetics_clip_name"]


def class_names_for(cfg: DataConfig) -> list[str]:
    """The ordered class names of the dataset described by ``cfg``."""
    names = _PARSERS[cfg.format][0](cfg)
    if cfg.num_classes is not None and len(names) != cfg.num_classes:
        raise ValueError(f"DataConfig.num_classes={cfg.num_classes} but "
                         f"{display_path(cfg.labels or cfg.annotation)} gives {len(names)} classes")
    return names


def parse_annotation(path: str, cfg: DataConfig,
                     class_names: list[str] | None = None) -> tuple[list[VideoRecord], list[AnnotationError]]:
    """All records of one annotation file plus every problem found (never raises on
    malformed lines; raises ``FileNotFoundError`` when the file is absent)."""
    names = class_names if class_names is not None else class_names_for(cfg)
    problems = Problems()
    records = _PARSERS[cfg.format][1](path, cfg, names, problems)
    items = sorted(problems.items, key=lambda p: (p.source, p.line if p.line is not None else -1))
    return records, items


def load_manifest(cfg: DataConfig, train: bool = True) -> Manifest:
    """Parse the training (``train=True``) or validation annotation of ``cfg``.

    Raises:
        FileNotFoundError: annotation or labels file missing.
        AnnotationError: malformed lines or unknown labels with ``on_bad_annotation="error"``
            (the message names the first few as file:line and the total).
    """
    path = cfg.annotation if train or not cfg.val_annotation else cfg.val_annotation
    if not path:
        raise ValueError("DataConfig.annotation is empty: give the annotation file")
    names = class_names_for(cfg)
    records, problems = parse_annotation(path, cfg, names)
    if problems and cfg.on_bad_annotation == "error":
        shown = "\n  ".join(str(p) for p in problems[:5])
        more = f"\n  ... and {len(problems) - 5} more" if len(problems) > 5 else ""
        raise AnnotationError(path, None,
                              f"{len(problems)} bad annotation entr{'y' if len(problems) == 1 else 'ies'}:"
                              f"\n  {shown}{more}\n(run `ean data validate` for a full report, or "
                              f"set DataConfig.on_bad_annotation='skip' to drop them)")
    for p in problems:
        print(f"warning: skipped annotation entry: {p}", file=sys.stderr)
    if cfg.missing_media == "skip":
        records, missing = drop_missing(records)
        if missing:
            print(f"warning: {display_path(path)}: dropped {len(missing)} of {len(records) + len(missing)} "
                  f"entries whose media does not exist (missing_media=skip), first: "
                  f"{display_path(missing[0].path)}", file=sys.stderr)
            problems = problems + [AnnotationError(r.source, None, f"missing media {display_path(r.path)}")
                                   for r in missing]
    if not records:
        raise AnnotationError(path, None, "no usable entries")
    return Manifest(records, names, path, problems)


def drop_missing(records: list) -> tuple[list, list]:
    """``(present, missing)``: the records whose video file or frame folder exists, and the rest."""
    present, missing = [], []
    for r in records:
        (present if os.path.exists(r.path) else missing).append(r)
    return present, missing
