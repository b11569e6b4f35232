"""The internal manifest every annotation format is parsed into.

A :class:`Manifest` is a list of :class:`VideoRecord` (path, frame count, label index, label
name, and the annotation file:line it came from) plus the ordered class names.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field


def display_path(path: str | os.PathLike | bytes) -> str:
    """A printable form of a path, also for non-UTF-8 names (bytes shown as ``\\xNN``)."""
    if isinstance(path, bytes):
        raw = path
    else:
        raw = os.fsencode(os.fspath(path))
    return raw.decode("utf-8", errors="backslashreplace")


class AnnotationError(ValueError):
    """A malformed annotation: the message names file:line and the reason."""

    def __init__(self, source: str, line: int | None, reason: str):
        self.source, self.line, self.reason = source, line, reason
        where = display_path(source) + (f":{line}" if line is not None else "")
        super().__init__(f"{where}: {reason}")


@dataclass
class VideoRecord:
    """One entry of a dataset.

    Attributes:
        path: video file or frame folder (absolute, or relative to the working directory).
        num_frames: frame count from the annotation, or ``None`` when the annotation does
            not give it (then it is read from the video/folder when the sample is loaded).
        label: class index (``-1`` for unlabeled test entries).
        label_name: class name ("" when unknown).
        source: annotation ``file:line`` (or ``file[#index]``) the entry came from.
        start_frame: first frame of the annotated segment (Diving48 gives one), 0-based.
    """

    path: str
    num_frames: int | None
    label: int
    label_name: str = ""
    source: str = ""
    start_frame: int = 0


@dataclass
class Manifest:
    """Records plus the class names; ``problems`` lists lines dropped with ``skip``."""

    records: list[VideoRecord]
    class_names: list[str]
    annotation: str = ""
    problems: list[AnnotationError] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> VideoRecord:
        return self.records[i]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def class_counts(self) -> list[int]:
        """Number of records per class index."""
        counts = [0] * self.num_classes
        for r in self.records:
            if 0 <= r.label < self.num_classes:
                counts[r.label] += 1
        return counts
