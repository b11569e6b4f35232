"""Export the 2D part of a trained backbone as a torchvision-layout ResNet state dict.

The file is what ``backbone.pretrained`` reads (the slot of the ImageNet weights): every
2D conv / BN of the ResNet, without the temporal modules (temporal conv, ME, TSM) and
without a classifier. The embedded study uses it as its stand-in for ImageNet
initialisation: one network is trained once on the generated data, and every variant
starts from its 2D weights, as every row of the paper starts from ImageNet.

    ean export-backbone runs/pretrain/best.pt data/pretrained/resnet10_w16.pth
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ean.models.backbone import _is_temporal_key
from ean.models.checkpoint import PathLike, load_model
from ean.models.ean import EAN


def backbone_weights(model: EAN) -> dict[str, Tensor]:
    """The 2D conv/BN tensors of ``model``'s backbone, keyed as in torchvision's ResNet."""
    return {k: v.detach().clone() for k, v in model.backbone.state_dict().items()
            if not _is_temporal_key(k)}


def export_backbone(checkpoint: PathLike, out: PathLike) -> dict[str, Any]:
    """Write the 2D backbone of a checkpoint (ours or the engine's) to ``out``.

    Returns ``{"path", "depth", "width", "tensors", "values"}``.
    """
    model = load_model(checkpoint)
    weights = backbone_weights(model)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    torch.save(weights, tmp)  # saved by path: the archive inside the file is named after it
    tmp.replace(out)
    cfg = model.cfg.backbone
    return {"path": str(out), "depth": cfg.depth, "width": cfg.width, "tensors": len(weights),
            "values": sum(v.numel() for v in weights.values())}
