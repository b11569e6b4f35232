"""Diving48 (V1 and V2 annotations): JSON list of
``{"vid_name", "label", "start_frame", "end_frame"}`` plus the vocabulary JSON
(``Diving48_vocab.json``: 48 lists of words; the class name joins them with spaces).
Media: ``<root>/<vid_name>.mp4`` (the distributed ``rgb/`` folder) or a frame folder
``<root>/<vid_name>/`` (frame count = ``end_frame``, as in the authors' lists)."""
from __future__ import annotations

from ..config import DataConfig
from ..labels import read_class_names
from ..manifest import VideoRecord
from .common import MediaResolver, Problems
from .something import _load_json_list

NUM_CLASSES = 48


def diving48_class_names(cfg: DataConfig) -> list[str]:
    """Vocabulary names in file order (the label integers index the vocabulary)."""
    if cfg.labels:
        return read_class_names(cfg.labels, "file")
    return [f"class_{i}" for i in range(cfg.num_classes or NUM_CLASSES)]


def parse_diving48(path: str, cfg: DataConfig, class_names: list[str],
                   problems: Problems) -> list[VideoRecord]:
    resolve = MediaResolver(cfg.root, cfg, prefer_frames=False)
    records = []
    for k, item in enumerate(_load_json_list(path, problems)):
        where = f"{path}[#{k}]"
        if not isinstance(item, dict) or not isinstance(item.get("vid_name"), str):
            problems.add(where, None, "entry lacks a string 'vid_name'")
            continue
        label = item.get("label")
        if not isinstance(label, int) or not 0 <= label < len(class_names):
            problems.add(where, None, f"label {label!r} out of range 0..{len(class_names) - 1} "
                         f"({item['vid_name']})")
            continue
        try:
            start = int(item.get("start_frame", 0))
            end = int(item["end_frame"]) if "end_frame" in item else None
        except (TypeError, ValueError):
            problems.add(where, None, "start_frame/end_frame are not integers")
            continue
        n = None if end is None else max(end - start, 0)
        records.append(VideoRecord(resolve(item["vid_name"]), n, label, class_names[label],
                                   where, start_frame=start))
    return records
