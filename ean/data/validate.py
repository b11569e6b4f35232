"""Checking every entry of an annotation before training.

    report = validate(cfg, annotation, workers=2)
    report.errors     # [Finding]: unusable entries (missing, undecodable, too short, bad line)
    report.warnings   # [Finding]: usable with a caveat (shorter than a clip, truncated end)

A finding names the file (and the annotation file:line it came from) and the reason.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field

from .config import DataConfig
from .decode import DecodeError, FrameFolderReader, VideoFileReader, open_media
from .formats import drop_missing, parse_annotation
from .manifest import VideoRecord, display_path
from .sampling import sample_test


@dataclass
class Finding:
    """One problem: ``severity`` is ``error`` (unusable) or ``warning``."""

    severity: str
    path: str
    source: str
    reason: str

    def line(self) -> str:
        where = f" ({display_path(self.source)})" if self.source and self.source != self.path else ""
        return f"{self.severity.upper()}: {display_path(self.path)}{where}: {self.reason}"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["path"], d["source"] = display_path(self.path), display_path(self.source)
        return d


@dataclass
class Report:
    annotation: str
    checked: int = 0
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        return (f"{display_path(self.annotation)}: checked {self.checked} entries: "
                f"{len(self.errors)} unusable, {len(self.warnings)} with warnings, "
                f"{self.checked - len(self.errors)} usable")

    def to_dict(self) -> dict:
        return {"annotation": display_path(self.annotation), "checked": self.checked,
                "unusable": len(self.errors), "warnings": len(self.warnings), "ok": self.ok,
                "errors": [f.to_dict() for f in self.errors],
                "warning_list": [f.to_dict() for f in self.warnings]}


def check_record(record: VideoRecord, cfg: DataConfig) -> list[Finding]:
    """Open, count and decode the frames a test clip needs; also the last frame."""
    out: list[Finding] = []

    def add(sev: str, reason: str, path: str | None = None) -> None:
        out.append(Finding(sev, path or record.path, record.source, reason))

    try:
        reader = open_media(record, cfg)
        n = reader.num_frames
        if n < cfg.min_frames:
            add("error", f"only {n} frame(s), at least {cfg.min_frames} needed (min_frames)")
            return out
        if isinstance(reader, FrameFolderReader):
            missing = [reader.frame_path(i) for i in range(n)
                       if not os.path.isfile(reader.frame_path(i))]
            if missing:
                add("error", f"{len(missing)} of {n} frames missing (first: "
                             f"{display_path(os.path.basename(missing[0]))})")
                return out
        idx = sample_test(n, cfg.num_segments, cfg.segment_length, 1)[0]
        frames = reader.read(list(idx) + [n - 1])
        if frames.shape[-1] < 2 or frames.shape[-2] < 2:
            add("error", f"frames are {frames.shape[-2]}x{frames.shape[-1]} pixels")
        if isinstance(reader, VideoFileReader) and reader.truncation:
            add("warning", reader.truncation)
        need = cfg.num_segments * cfg.segment_length
        if n < need:
            add("warning", f"{n} frames, fewer than a clip ({cfg.num_segments}x"
                           f"{cfg.segment_length}={need}): frames repeat")
    except DecodeError as exc:
        out.append(Finding("error", exc.path, record.source, exc.reason))
    except Exception as exc:  # report, never crash the whole check
        add("error", f"{type(exc).__name__}: {exc}")
    return out


def _check(args: tuple[VideoRecord, DataConfig]) -> list[Finding]:
    return check_record(*args)


def validate(cfg: DataConfig, annotation: str | None = None, workers: int = 2,
             progress: bool = True) -> Report:
    """Check every entry of ``annotation`` (default ``cfg.annotation``)."""
    from tqdm import tqdm

    path = annotation or cfg.annotation
    records, problems = parse_annotation(path, cfg)
    report = Report(path, checked=len(records) + len(problems))
    for p in problems:
        where = f"{p.source}:{p.line}" if p.line is not None else p.source
        report.errors.append(Finding("error", where, "", f"annotation: {p.reason}"))
    if cfg.missing_media == "skip":   # dropped when the list is loaded: a warning, not an error
        records, missing = drop_missing(records)
        report.warnings += [Finding("warning", r.path, r.source, "missing: dropped when the list is loaded "
                                    "(missing_media=skip)") for r in missing]
    args = [(r, cfg) for r in records]
    bar = tqdm(total=len(args), desc="validate", unit="video", disable=not progress)
    if workers > 1 and len(args) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = []
            for res in pool.map(_check, args, chunksize=4):
                results.append(res)
                bar.update()
    else:
        results = []
        for a in args:
            results.append(_check(a))
            bar.update()
    bar.close()
    for findings in results:
        for f in findings:
            (report.errors if f.severity == "error" else report.warnings).append(f)
    return report
