"""Parameters and multiply-accumulates (MACs) of a model, counted with fvcore.

fvcore's ``FlopCountAnalysis`` counts one multiply-accumulate as one "flop" and, by default,
also counts batch-norm and adaptive average pooling: that is the convention of the paper's
GFLOPs columns (they are GMACs; true FLOPs are twice as many). Handles are registered here
for the operators fvcore does not know: the depth-wise temporal convolution of the backbone
(``ean::temporal_dwconv``, 3 MACs per output element, like the conv it replaces). The
per-video application of the EAB fusion matrix and the attention products are ``matmul`` /
``einsum`` calls, which fvcore counts.
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

import torch
with warnings.catch_warnings():  # fvcore scripts a helper with the deprecated torch.jit.script
    warnings.simplefilter("ignore", FutureWarning)
    from fvcore.nn import FlopCountAnalysis

from ean.models.config import ModelConfig
from ean.models.ean import EAN, build_model


def _temporal_dwconv_macs(inputs: list[Any], outputs: list[Any]) -> int:
    shape = inputs[0].type().sizes()
    n = 1
    for s in shape:
        n *= s
    return 3 * n


EXTRA_HANDLES = {"ean::temporal_dwconv": _temporal_dwconv_macs}


@dataclass
class Complexity:
    """Counts for one clip."""

    preset: str
    semantics: str
    frames: int
    segment_length: int
    size: int
    num_classes: int
    params: int
    trainable_params: int
    macs: int
    by_module: dict[str, int] = field(default_factory=dict)
    params_by_module: dict[str, int] = field(default_factory=dict)

    @property
    def gmacs(self) -> float:
        return self.macs / 1e9

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["gmacs"] = self.gmacs
        return out


def _module_groups(model: EAN) -> list[str]:
    """The named parts reported in the breakdown."""
    names = ["backbone.conv1", "backbone.bn1"]
    names += [f"backbone.layer{i}" for i in range(1, 5)]
    names += [f"eabs.{k}" for k in model.eabs] + [f"sois.{k}" for k in model.sois]
    if model.lmc is not None:
        names.append("lmc")
    names.append("fc")
    return names


def count_model(model: EAN, frames: Optional[int] = None, size: Optional[int] = None,
                batch: int = 1) -> Complexity:
    """Params and MACs of ``model`` on one ``(batch, 3, frames*L, size, size)`` input, eval mode."""
    cfg = model.cfg
    frames = frames or cfg.num_segments
    size = size or cfg.input_size
    inputs: tuple = (torch.randn(batch, 3, frames * cfg.segment_length, size, size),)
    if cfg.soi.stages and cfg.soi.regions == "boxes":  # externally supplied boxes: count EAN given them
        inputs += (False, torch.tensor([0.2, 0.2, 0.6, 0.6]).expand(batch, frames, cfg.soi.num_objects, 4))
    was_training = model.training
    model.eval()
    logging.getLogger("fvcore").setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            analysis = FlopCountAnalysis(model, inputs)
            analysis.set_op_handle(**EXTRA_HANDLES)
            analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            analysis.tracer_warnings("none")
            total = int(analysis.total())
            per_module = analysis.by_module()
    finally:
        model.train(was_training)
    params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    by_module = {}
    params_by_module = {}
    modules = dict(model.named_modules())
    for name in _module_groups(model):
        if name in modules:
            by_module[name] = int(per_module.get(name, 0))
            params_by_module[name] = sum(p.numel() for p in modules[name].parameters())
    return Complexity(preset=cfg.name, semantics=cfg.semantics, frames=frames,
                      segment_length=cfg.segment_length, size=size, num_classes=cfg.num_classes,
                      params=params, trainable_params=trainable, macs=total,
                      by_module=by_module, params_by_module=params_by_module)


def count_config(cfg: ModelConfig, frames: Optional[int] = None, size: Optional[int] = None) -> Complexity:
    """Build ``cfg`` (random weights) and count it; see :func:`count_model`."""
    torch.manual_seed(0)
    with torch.no_grad():
        return count_model(build_model(cfg), frames, size)
