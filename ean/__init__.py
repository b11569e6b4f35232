"""EAN: Event Adaptive Network for action recognition — a reproducible study.

The public entry points are importable from the top level (loaded lazily, so that
``import ean.data`` does not pull in the model stack)::

    from ean import ModelConfig, build_model, get_preset, list_presets, load_checkpoint
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "ModelConfig": "ean.models.config",
    "EAN": "ean.models.ean",
    "build_model": "ean.models.ean",
    "get_preset": "ean.models.presets",
    "list_presets": "ean.models.presets",
    "load_checkpoint": "ean.models.checkpoint:load_model",
    "save_checkpoint": "ean.models.checkpoint:save_model_checkpoint",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        module, _, attribute = _EXPORTS[name].partition(":")
        return getattr(importlib.import_module(module), attribute or name)
    raise AttributeError(f"module 'ean' has no attribute {name!r}")
