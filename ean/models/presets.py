"""Named model configurations (the names are part of the command line).

Full size (ResNet-50, 224x224, the paper's models):
``tsn_r50``, ``tsm_r50``, ``baseline_r50`` (ME + temporal conv, average pooling: the paper's
"ResNet baseline"), ``ean_r50_8f_rgb``, ``ean_r50_16f_rgb``, ``ean_r50_8f_rgb_lmc``,
``ean_r50_16f_rgb_lmc``.

CPU-sized (ResNet-10 at quarter width, no stem max-pool, 64x64, 8 frames), for the embedded
study: ``tsn_tiny``, ``tsm_tiny``, ``baseline_tiny``, ``ean_tiny``, ``ean_tiny_lmc`` (LMC latent 64).
"""
from __future__ import annotations

from typing import Any, Callable

from ean.errors import ConfigError
from ean.models.config import BackboneConfig, EABConfig, LMCConfig, ModelConfig, SOIConfig


def _r50(name: str, temporal: str, eab: bool, soi: bool, segments: int = 8, lmc: bool = False) -> ModelConfig:
    return ModelConfig(
        name=name, num_segments=segments, segment_length=5 if lmc else 1, input_size=224,
        backbone=BackboneConfig(depth=50, width=64, stem_pool=True, temporal=temporal),
        eab=EABConfig(stages=(1, 2, 3, 4) if eab else ()),
        soi=SOIConfig(stages=(5,) if soi else ()),
        lmc=LMCConfig(enabled=lmc))


def _tiny(name: str, temporal: str, eab: bool, soi: bool, lmc: bool = False) -> ModelConfig:
    return ModelConfig(
        name=name, num_classes=16, num_segments=8, segment_length=5 if lmc else 1, input_size=64,
        backbone=BackboneConfig(depth=10, width=16, stem_pool=False, temporal=temporal),
        eab=EABConfig(stages=(1, 2, 3, 4) if eab else ()),
        soi=SOIConfig(stages=(5,) if soi else (), heads=4),
        lmc=LMCConfig(enabled=lmc, latent=64, patch=16))


PRESETS: dict[str, Callable[[], ModelConfig]] = {
    "tsn_r50": lambda: _r50("tsn_r50", "none", False, False),
    "tsm_r50": lambda: _r50("tsm_r50", "tsm", False, False),
    "baseline_r50": lambda: _r50("baseline_r50", "tconv_me", False, False),
    "ean_r50_8f_rgb": lambda: _r50("ean_r50_8f_rgb", "tconv_me", True, True),
    "ean_r50_16f_rgb": lambda: _r50("ean_r50_16f_rgb", "tconv_me", True, True, segments=16),
    "ean_r50_8f_rgb_lmc": lambda: _r50("ean_r50_8f_rgb_lmc", "tconv_me", True, True, lmc=True),
    "ean_r50_16f_rgb_lmc": lambda: _r50("ean_r50_16f_rgb_lmc", "tconv_me", True, True, segments=16, lmc=True),
    "tsn_tiny": lambda: _tiny("tsn_tiny", "none", False, False),
    "tsm_tiny": lambda: _tiny("tsm_tiny", "tsm", False, False),
    "baseline_tiny": lambda: _tiny("baseline_tiny", "tconv_me", False, False),
    "ean_tiny": lambda: _tiny("ean_tiny", "tconv_me", True, True),
    "ean_tiny_lmc": lambda: _tiny("ean_tiny_lmc", "tconv_me", True, True, lmc=True),
}


def list_presets() -> list[str]:
    return list(PRESETS)


def get_preset(name: str, **overrides: Any) -> ModelConfig:
    """The preset's config; keyword overrides replace top-level fields, dotted-key overrides
    may be given as a dict in ``overrides["set"]``."""
    if name not in PRESETS:
        raise ConfigError(f"unknown model preset {name!r}", key="preset", allowed=PRESETS)
    cfg = PRESETS[name]()
    dotted = overrides.pop("set", None) or {}
    return cfg.override({**overrides, **dotted}) if (overrides or dotted) else cfg
