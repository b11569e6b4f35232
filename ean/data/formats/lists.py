"""Plain list files.

``rawframes``: the TSN list of the authors, TSM and TDN, ``<folder> <num_frames> <label>``
per line (the folder may contain spaces: the last two fields are split off).
``videos``: ``<video path> <label>`` per line. Paths are relative to ``DataConfig.root``.
Class names come from ``DataConfig.labels`` (one per line, in file order: the list's integers
index it) when given, else ``class_<i>``.
"""
from __future__ import annotations

from ..config import DataConfig
from ..labels import read_class_names
from ..manifest import VideoRecord
from .common import Problems, join_root, read_lines


def list_class_names(cfg: DataConfig) -> list[str]:
    if cfg.labels:  # the list's integers index the file's order: never re-sort
        return read_class_names(cfg.labels, "file")
    n = cfg.num_classes
    if n is None:  # the largest label of the training list
        n = 0
        nfields = 3 if cfg.format == "rawframes" else 2
        for line in read_lines(cfg.annotation):
            parts = line.rsplit(None, nfields - 1)
            if len(parts) == nfields and parts[-1].lstrip("-").isdigit():
                n = max(n, int(parts[-1]) + 1)
    return [f"class_{i}" for i in range(n)]


def parse_list(path: str, cfg: DataConfig, class_names: list[str],
               problems: Problems) -> list[VideoRecord]:
    frames = cfg.format == "rawframes"
    nfields = 3 if frames else 2
    usage = "<folder> <num_frames> <label>" if frames else "<video path> <label>"
    records = []
    for lineno, line in enumerate(read_lines(path), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.strip().rsplit(None, nfields - 1)
        if len(parts) != nfields:
            problems.add(path, lineno, f"malformed line {line!r}: expected '{usage}'")
            continue
        try:
            label = int(parts[-1])
            n = int(parts[1]) if frames else None
        except ValueError:
            problems.add(path, lineno, f"malformed line {line!r}: expected '{usage}' "
                         f"with integer fields")
            continue
        if not 0 <= label < len(class_names):
            problems.add(path, lineno, f"label {label} out of range 0..{len(class_names) - 1}")
            continue
        if n is not None and n < 0:
            problems.add(path, lineno, f"negative frame count {n}")
            continue
        records.append(VideoRecord(join_root(cfg.root, parts[0]), n, label,
                                   class_names[label], f"{path}:{lineno}"))
    return records
