"""Video data: annotation formats, decoding, TSN sampling, augmentation, loaders, the
embedded synthetic dataset and input validation.

    from ean.data import DataConfig, build_dataset, build_loader, SkipCounter
    cfg = DataConfig(format="sthv2", annotation=".../train.json", val_annotation=".../validation.json",
                     labels=".../labels.json", root=".../videos")
    ds = build_dataset(cfg, train=True)
    loader = build_loader(ds, batch_size=8, train=True, seed=0, num_workers=2)
"""
from __future__ import annotations

from .config import FORMATS, DataConfig
from .dataset import VideoDataset, build_dataset, sample_rng
from .decode import DecodeError, open_media
from .formats import class_names_for, load_manifest, parse_annotation
from .labels import direction_classes, flip_label_map, flip_pairs, read_class_names
from .loader import DataSkipError, EpochSampler, SkipCounter, build_loader, collate_clips
from .manifest import AnnotationError, Manifest, VideoRecord
from .sampling import sample_test, sample_train

__all__ = [
    "FORMATS", "DataConfig", "VideoDataset", "build_dataset", "sample_rng", "DecodeError",
    "open_media", "class_names_for", "load_manifest", "parse_annotation", "direction_classes",
    "flip_label_map", "flip_pairs", "read_class_names", "DataSkipError", "EpochSampler",
    "SkipCounter", "build_loader", "collate_clips", "AnnotationError", "Manifest",
    "VideoRecord", "sample_test", "sample_train", "synthetic_config",
]


def synthetic_config(root: str, **overrides) -> DataConfig:
    """DataConfig for a dataset written by ``ean data synth ROOT`` (Something V2 format)."""
    from .synth.writer import synthetic_config as _cfg
    return _cfg(root, **overrides)
