"""Something-Something V1 (20BN CSVs + JPEG folders) and V2 (JSON + .webm) annotations.

V1: ``something-something-v1-labels.csv`` holds one label per line; the train/validation
CSVs hold ``<id>;<label text>`` lines; frames are ``<root>/<id>/{:05d}.jpg`` (1-based).
V2: ``something-something-v2-labels.json`` maps label text -> index string; the
train/validation JSONs are lists of ``{"id", "label", "template", "placeholders"}``; the label
text is the template with its ``[ ]`` brackets removed; videos are ``<root>/<id>.webm`` (or the
output of ``ean data extract``: ``<id>.mp4`` or a ``<id>/`` frame folder). Test JSONs hold only
``{"id"}``: those entries get label -1.

Class index = position in the alphabetically sorted label list (see ``ean.data.labels``).
"""
from __future__ import annotations

import json
from pathlib import Path

from ..config import DataConfig
from ..labels import read_class_names, something_template_to_label
from ..manifest import VideoRecord
from .common import MediaResolver, Problems, class_index, read_lines


def something_class_names(cfg: DataConfig) -> list[str]:
    """Class names from ``cfg.labels`` (or, without one, from the training annotation)."""
    if cfg.labels:
        return read_class_names(cfg.labels, cfg.label_order)
    names: set[str] = set()
    if cfg.format == "sthv1":
        for line in read_lines(cfg.annotation):
            if ";" in line:
                names.add(line.split(";", 1)[1].strip())
    else:
        for item in _load_json_list(cfg.annotation, Problems()):
            if isinstance(item, dict) and isinstance(item.get("template"), str):
                names.add(something_template_to_label(item["template"]))
    if not names:
        raise ValueError(f"DataConfig.labels is not set and no label could be read from "
                         f"{cfg.annotation}; give the labels file")
    return sorted(names)


def parse_sthv1(path: str, cfg: DataConfig, class_names: list[str],
                problems: Problems) -> list[VideoRecord]:
    """Parse a 20BN V1 CSV (``id;label`` per line) into records (frame folders)."""
    index = class_index(class_names)
    resolve = MediaResolver(cfg.root, cfg, prefer_frames=True)
    records = []
    for lineno, line in enumerate(read_lines(path), 1):
        if not line.strip():
            continue
        parts = line.split(";", 1)
        vid = parts[0].strip()
        if not vid or (len(parts) == 2 and not parts[1].strip()):
            problems.add(path, lineno, f"malformed line {line!r}: expected '<id>;<label>'")
            continue
        if len(parts) == 1:  # test CSV: ids only
            label, name = -1, ""
        else:
            name = parts[1].strip()
            if name not in index:
                problems.add(path, lineno, f"unknown label {name!r}")
                continue
            label = index[name]
        records.append(VideoRecord(resolve(vid), None, label, name, f"{path}:{lineno}"))
    return records


def parse_sthv2(path: str, cfg: DataConfig, class_names: list[str],
                problems: Problems) -> list[VideoRecord]:
    """Parse a V2 train/validation/test JSON list into records (videos or folders)."""
    index = class_index(class_names)
    resolve = MediaResolver(cfg.root, cfg, prefer_frames=False)
    records = []
    for k, item in enumerate(_load_json_list(path, problems)):
        where = f"{path}[#{k}]"
        if not isinstance(item, dict) or "id" not in item:
            problems.add(f"{path}[#{k}]", None, "entry is not an object with an 'id'")
            continue
        vid = str(item["id"]).strip()
        template = item.get("template")
        if template is None:
            label, name = -1, ""
        elif not isinstance(template, str):
            problems.add(where, None, f"'template' is not a string: {template!r}")
            continue
        else:
            name = something_template_to_label(template)
            if name not in index:
                problems.add(where, None, f"unknown label {name!r} (video id {vid})")
                continue
            label = index[name]
        records.append(VideoRecord(resolve(vid), None, label, name, where))
    return records


def _load_json_list(path: str, problems: Problems) -> list:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"annotation file not found: {p}")
    try:
        data = json.loads(p.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        problems.add(path, exc.lineno, f"invalid JSON: {exc.msg} (column {exc.colno})")
        return []
    except UnicodeDecodeError as exc:
        problems.add(path, None, f"not valid UTF-8 ({exc.reason})")
        return []
    if not isinstance(data, list):
        problems.add(path, None, "expected a JSON list of entries")
        return []
    return data
