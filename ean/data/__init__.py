"""Video data: annotation formats, decoding, TSN sampling, augmentation, loaders, the
embedded synthetic dataset and input validation.

    from ean.data import DataConfig, build_dataset, build_loader, SkipCounter
    cfg = DataConfig(format="sthv2", annotation=".../train.json", val_annotation=".../validation.json",
                     labels=".../labels.json", root=".../videos")
    ds = build_dataset(cfg, train=True)
    loader = build_loader(ds, batch_size=8, train=True, seed=0, num_workers=2)
"""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Names are imported from their modules on first use, so that ``import ean.data.synth`` (the
# generator, its worker processes) and ``ean.data.config`` do not pay for torch/torchvision.
_EXPORTS = {
    "FORMATS": "config", "DataConfig": "config",
    "VideoDataset": "dataset", "build_dataset": "dataset", "sample_rng": "dataset",
    "DecodeError": "decode", "open_media": "decode",
    "class_names_for": "formats", "load_manifest": "formats", "parse_annotation": "formats",
    "direction_classes": "labels", "flip_label_map": "labels", "flip_pairs": "labels",
    "read_class_names": "labels",
    "DataSkipError": "loader", "EpochSampler": "loader", "SkipCounter": "loader", "build_loader": "loader",
    "collate_clips": "loader",
    "AnnotationError": "manifest", "Manifest": "manifest", "VideoRecord": "manifest",
    "sample_test": "sampling", "sample_train": "sampling",
}

__all__ = [*_EXPORTS, "synthetic_config"]

if TYPE_CHECKING:  # pragma: no cover
    from .config import FORMATS, DataConfig  # noqa: F401
    from .dataset import VideoDataset, build_dataset, sample_rng  # noqa: F401
    from .loader import build_loader  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def synthetic_config(root: str, **overrides) -> DataConfig:
    """DataConfig for a dataset written by ``ean data synth ROOT`` (Something V2 format)."""
    from .synth.writer import synthetic_config as _cfg
    return _cfg(root, **overrides)
