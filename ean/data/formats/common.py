"""Helpers shared by the annotation parsers: problem collection and media path resolution."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..config import DataConfig
from ..manifest import AnnotationError


@dataclass
class Problems:
    """Collects malformed-annotation problems instead of stopping at the first one."""

    items: list[AnnotationError] = field(default_factory=list)

    def add(self, source: str, line: int | None, reason: str) -> None:
        self.items.append(AnnotationError(source, line, reason))


def read_lines(path: str | os.PathLike) -> list[str]:
    """Lines of a text annotation. Bytes that are not UTF-8 (non-UTF-8 file names) are kept
    losslessly as surrogate escapes, so such paths still reach the file system."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"annotation file not found: {p}")
    raw = p.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    return raw.decode("utf-8", errors="surrogateescape").splitlines()


class MediaResolver:
    """Turns an id (``100218``, ``VNvb5oLOpLg_00000``) into a frame folder or video file.

    ``media="auto"``: an existing directory ``root/id`` wins, then ``root/id.<ext>`` for the
    extensions of ``cfg.video_ext`` in order. When nothing exists the preferred candidate is
    returned (so that the error later names a concrete path).
    """

    def __init__(self, root: str, cfg: DataConfig, prefer_frames: bool):
        self.root = root
        self.cfg = cfg
        self.prefer_frames = prefer_frames
        self._last_hit: int | None = None

    def candidates(self, stem: str) -> list[str]:
        base = os.path.join(self.root, stem) if self.root else stem
        folder_first = self.prefer_frames or self.cfg.media == "frames"
        videos = [f"{base}.{e.lstrip('.')}" for e in self.cfg.video_ext]
        if self.cfg.media == "frames":
            return [base]
        if self.cfg.media == "video":
            return videos
        return [base] + videos if folder_first else videos + [base]

    def __call__(self, stem: str) -> str:
        cands = self.candidates(stem)
        order = list(range(len(cands)))
        if self._last_hit is not None and self._last_hit < len(cands):
            order.remove(self._last_hit)
            order.insert(0, self._last_hit)
        for k in order:
            c = cands[k]
            is_dir = os.path.isdir(c)
            if (is_dir and not _is_video_name(c, self.cfg)) or (not is_dir and os.path.isfile(c)):
                self._last_hit = k
                return c
        return cands[0]


def _is_video_name(path: str, cfg: DataConfig) -> bool:
    ext = os.path.splitext(path)[1].lstrip(".").lower()
    return bool(ext) and ext in {e.lstrip(".").lower() for e in cfg.video_ext}


def join_root(root: str, rel: str) -> str:
    """``rel`` joined to ``root`` unless ``rel`` is absolute or root is empty."""
    if not root or os.path.isabs(rel):
        return rel
    return os.path.join(root, rel)


def class_index(names: list[str]) -> dict[str, int]:
    return {n: i for i, n in enumerate(names)}
