import pytest
import torch

from ean.models.ean import build_model
from ean.models.presets import get_preset


def tiny(name: str = "ean_tiny", **dotted):
    """A tiny preset at T=4 (64x64), with dotted-key overrides."""
    return get_preset(name, set={"num_segments": 4, **dotted})


def clip(cfg, batch: int = 2, size: int = 64, segments: int | None = None, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    t = segments or cfg.num_segments
    return torch.randn(batch, 3, t * cfg.segment_length, size, size, generator=g)


def make(cfg, seed: int = 0):
    torch.manual_seed(seed)
    return build_model(cfg)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
