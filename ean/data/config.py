"""DataConfig: every setting of the data pipeline in one typed dataclass.

A config is plain data (YAML/JSON friendly)::

    cfg = DataConfig(format="sthv2", annotation="train.json", val_annotation="validation.json",
                     labels="labels.json", root="videos/")
    cfg = DataConfig.from_dict(yaml.safe_load(...)["data"], file="run.yaml", prefix="data.")
    cfg = cfg.override({"num_segments": 16, "resize": [72, 96]})
    cfg.to_dict()

Settings left as ``None`` are resolved per ``recipe`` and dataset format by
:meth:`DataConfig.resolved`. The ``authors`` recipe is what the authors' code does (the
Something datasets resize every frame to exactly 240x320, multi-scale crops at 13 fixed
offsets, every clip may be flipped and left/right classes swap their labels); the ``paper``
recipe is what the paper's text says (short side 256, a random crop, no flip of
direction-related classes). A training config takes the recipe of its model's
``semantics`` unless ``data.recipe`` is set.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ean.config import Config, check, check_choice

FORMATS = ("sthv1", "sthv2", "k400", "diving48", "rawframes", "videos")
SOMETHING_FORMATS = ("sthv1", "sthv2")
FLIP_MODES = ("swap", "skip_direction", "all", "none")
SAMPLINGS = ("tsn",)
MEDIA = ("auto", "video", "frames")
ON_BAD_ANNOTATION = ("error", "skip")
RECIPES = ("authors", "paper")
LABEL_ORDERS = ("alphabetical", "file")
CROPS = ("multiscale", "random")


@dataclass
class DataConfig(Config):
    """Settings of one dataset and of the clip pipeline.

    Attributes:
        format: annotation format, one of ``FORMATS``:
            ``sthv1`` (20BN CSV ``id;label`` + labels CSV, JPEG folders ``{:05d}.jpg``),
            ``sthv2`` (labels JSON + train/validation JSON, ``<id>.webm`` or extracted),
            ``k400`` (Kinetics CSV ``label,youtube_id,time_start,time_end,split`` or a
            class-folder directory), ``diving48`` (V1/V2 JSON + vocabulary JSON),
            ``rawframes`` (TSN list ``<folder> <num_frames> <label>``),
            ``videos`` (``<video path> <label>``).
        annotation: training annotation file (or class-folder directory for ``k400``).
        val_annotation: validation/test annotation; ``None`` uses ``annotation``.
        root: directory the paths in the annotation are relative to.
        labels: class-name file (SSv1 labels CSV, SSv2 labels JSON, Diving48 vocabulary JSON,
            a ``category.txt`` with one name per line); optional for list formats.
        num_classes: expected number of classes (checked when set; used to name classes of
            list formats without a labels file).
        label_order: ``alphabetical`` (default; for Something the authors' order, which the
            released checkpoints depend on) or ``file`` (order of the labels file). List
            formats and Diving48 always use the file order (their integers index it).
        split: for Kinetics CSVs holding several splits, keep only rows of this split
            (``None`` keeps all rows).
        media: ``auto`` (a directory is a frame folder, a file is a video), ``video`` or
            ``frames``.
        video_ext: extensions tried, in order, when an annotation names a video by id.
        frame_template: file name of frame ``i`` inside a folder (``{:05d}.jpg``), or
            ``auto`` to detect ``<prefix><digits>.<ext>`` from the folder listing.
        frame_start: index of the first frame file for a fixed template (1 for 20BN/TSN).
        num_segments: T, segments per clip.
        segment_length: L, consecutive frames per segment (1 for RGB, 5 for LMC).
        sampling: temporal sampling scheme (``tsn``: the authors' formulas).
        min_frames: videos with fewer decodable frames are unusable (authors: 3).
        input_size: side of the square crop fed to the model.
        recipe: which reading of the data pipeline fills the ``None`` settings below:
            ``authors`` (their code) or ``paper`` (the text). ``None``: ``authors`` (a
            training config sets it to the model's ``semantics``).
        resize: frames are first resized to ``[H, W]`` (a 2-list, aspect ignored), to a short
            side (an int), or not at all (``0``). ``None``: recipe ``authors`` ``[240, 320]``
            for Something, ``256`` otherwise; recipe ``paper`` ``256`` (short side).
        crop: training crop, ``multiscale`` (``scales`` x ``max_distort`` x ``fix_crop``, the
            authors' ``GroupMultiScaleCrop``) or ``random`` (an ``input_size`` square at a
            uniformly random position: the paper's "random cropping"). ``None``: by recipe.
        scales: multi-scale crop scales of the short side (training, ``crop: multiscale``).
        max_distort: largest index distance between the scales chosen for width and height.
        fix_crop: use the 13 fixed crop offsets (else a uniformly random offset).
        flip: ``swap`` (flip every clip with p=0.5; direction classes swap their label,
            pairs derived from the label names -- authors' code), ``skip_direction`` (never
            flip direction classes -- the paper), ``all`` (flip, keep labels), ``none``.
            ``None``: recipe ``authors`` ``swap`` for Something, ``all`` otherwise; recipe
            ``paper`` ``skip_direction``.
        flip_prob: probability of a horizontal flip.
        mean, std: per-channel normalisation of [0, 1] RGB values (ImageNet).
        test_crop_size: crop side at test time (``None``: ``input_size``).
        seed: base seed; randomness of sample i in epoch e depends on (seed, e, i) only.
        on_bad_annotation: ``error`` (stop on the first malformed line / unknown label, naming
            file:line) or ``skip`` (drop those lines with a warning).
        missing_media: ``error`` (an entry whose video file or frame folder does not exist is
            unusable: validation reports it, training counts it as skipped) or ``skip`` (such
            entries are dropped when the list is loaded, with one warning naming how many: the
            authors' Kinetics-400 recipe, whose lists name videos that are no longer online).
        max_skip_fraction: training stops when more than this fraction of an epoch's samples
            were unreadable (see ``SkipCounter``).
        decode_threads: decoder threads per video (decord).
        cache: keep every decoded video in memory after its first read (each loader worker
            holds its own copy; with ``num_workers: 0`` the cache lives across epochs). For
            small datasets such as the embedded study's; the clips are identical with and
            without it.
        cache_mb: with ``cache``, the most memory (MiB of decoded frames, per process and
            loader worker) the cache may hold; the least recently used videos are dropped
            beyond it.
        cache_file: with ``cache``, a file of decoded videos written by
            ``ean.data.decoded.write_decoded``; videos found in it are not decoded at all.
        num_workers: default DataLoader workers.
        pin_memory: ``None`` pins when CUDA is available.
        prefetch_factor: batches prefetched per worker.
    """

    format: str = "sthv2"
    annotation: str = ""
    val_annotation: str | None = None
    root: str = ""
    labels: str | None = None
    num_classes: int | None = None
    label_order: str = "alphabetical"
    split: str | None = None
    media: str = "auto"
    video_ext: list[str] = field(default_factory=lambda: ["mp4", "webm", "mkv", "avi"])
    frame_template: str = "auto"
    frame_start: int = 1
    num_segments: int = 8
    segment_length: int = 1
    sampling: str = "tsn"
    min_frames: int = 3
    input_size: int = 224
    recipe: str | None = None
    resize: Any = None
    crop: str | None = None
    scales: list[float] = field(default_factory=lambda: [1.0, 0.875, 0.75, 0.66])
    max_distort: int = 1
    fix_crop: bool = True
    flip: str | None = None
    flip_prob: float = 0.5
    mean: list[float] = field(default_factory=lambda: [0.485, 0.456, 0.406])
    std: list[float] = field(default_factory=lambda: [0.229, 0.224, 0.225])
    test_crop_size: int | None = None
    seed: int = 0
    on_bad_annotation: str = "error"
    missing_media: str = "error"
    max_skip_fraction: float = 0.01
    decode_threads: int = 1
    cache: bool = False
    cache_mb: int = 4096
    cache_file: str | None = None
    num_workers: int = 2
    pin_memory: bool | None = None
    prefetch_factor: int = 2

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Raise ``ConfigError`` naming the setting at fault."""
        for key, allowed in (("format", FORMATS), ("sampling", SAMPLINGS), ("media", MEDIA),
                             ("label_order", LABEL_ORDERS), ("on_bad_annotation", ON_BAD_ANNOTATION),
                             ("missing_media", ON_BAD_ANNOTATION)):
            check_choice(getattr(self, key), allowed, key)
        for key, allowed in (("flip", FLIP_MODES), ("recipe", RECIPES), ("crop", CROPS)):
            if getattr(self, key) is not None:
                check_choice(getattr(self, key), allowed, key)
        for key in ("num_segments", "segment_length", "input_size", "min_frames"):
            value = getattr(self, key)
            check(isinstance(value, int) and value >= 1, key, f"must be a positive integer, got {value!r}")
        resize = self.resize
        check(resize is None or (isinstance(resize, int) and resize >= 0)
              or (isinstance(resize, (list, tuple)) and len(resize) == 2
                  and all(isinstance(v, int) and v > 0 for v in resize)),
              "resize", f"must be None, a short side (int, 0 = no resize) or [H, W], got {resize!r}")
        check(bool(self.scales) and all(0 < s <= 1 for s in self.scales), "scales",
              f"must be a non-empty list of values in (0, 1], got {self.scales!r}")
        check(0.0 <= self.flip_prob <= 1.0, "flip_prob", f"must be in [0, 1], got {self.flip_prob}")
        check(isinstance(self.cache_mb, int) and self.cache_mb >= 1, "cache_mb",
              f"must be a positive number of MiB, got {self.cache_mb!r}")
        check(0.0 <= self.max_skip_fraction <= 1.0, "max_skip_fraction",
              f"must be in [0, 1], got {self.max_skip_fraction}")
        check(len(self.mean) == 3, "mean", f"needs 3 values, got {self.mean!r}")
        check(len(self.std) == 3 and all(s > 0 for s in self.std), "std", f"needs 3 values > 0, got {self.std!r}")
        if self.frame_template != "auto":
            check("{" in self.frame_template, "frame_template",
                  f"must contain a '{{...}}' index field or be 'auto', got {self.frame_template!r}")
            try:
                self.frame_template.format(1)
            except (IndexError, KeyError, ValueError, TypeError, AttributeError) as exc:
                check(False, "frame_template", f"is not a format string with one index ({exc})")

    # ------------------------------------------------------------- resolution
    @property
    def is_something(self) -> bool:
        return self.format in SOMETHING_FORMATS

    def resolved(self) -> "DataConfig":
        """A copy with the per-format defaults (``None`` settings) filled in."""
        cfg = dataclasses.replace(self)
        if cfg.recipe is None:
            cfg.recipe = "authors"
        paper = cfg.recipe == "paper"
        if cfg.resize is None:
            cfg.resize = 256 if paper or not cfg.is_something else [240, 320]
        if isinstance(cfg.resize, tuple):
            cfg.resize = list(cfg.resize)
        if cfg.flip is None:
            cfg.flip = "skip_direction" if paper else "swap" if cfg.is_something else "all"
        if cfg.crop is None:
            cfg.crop = "random" if paper else "multiscale"
        if cfg.test_crop_size is None:
            cfg.test_crop_size = cfg.input_size
        return cfg

    @property
    def frames_per_clip(self) -> int:
        """T * L."""
        return self.num_segments * self.segment_length
