"""Export the 2D part of a trained backbone as a torchvision-layout ResNet state dict.

The file is what ``backbone.pretrained`` reads (the slot of the ImageNet weights): every
2D conv / BN of the ResNet, without the temporal modules (temporal conv, ME, TSM) and
without a classifier. The embedded study uses it as its stand-in for ImageNet
initialisation: one network is trained once on the generated data, and every variant
starts from its 2D weights, as every row of the paper starts from ImageNet.

    ean export-backbone runs/pretrain/best.pt data/pretrained/resnet10_w16.pth
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Union

import torch
from torch import Tensor

from ean.models.backbone import _is_temporal_key
from ean.models.ean import EAN

PathLike = Union[str, Path]


def backbone_weights(model: EAN) -> dict[str, Tensor]:
    """The 2D conv/BN tensors of ``model``'s backbone, keyed as in torchvision's ResNet."""
    return {k: v.detach().clone() for k, v in model.backbone.state_dict().items()
            if not _is_temporal_key(k)}


def export_backbone(checkpoint: PathLike, out: PathLike) -> dict[str, Any]:
    """Write the 2D backbone of a checkpoint (ours or the engine's) to ``out``.

    Returns ``{"path", "depth", "width", "tensors", "values"}``.
    """
    from ean.models.official import model_from_state, read_checkpoint

    state = read_checkpoint(checkpoint)
    model = model_from_state(state, checkpoint)
    weights = backbone_weights(model)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    torch.save(weights, tmp)
    tmp.replace(out)
    cfg = model.cfg.backbone
    return {"path": str(out), "depth": cfg.depth, "width": cfg.width, "tensors": len(weights),
            "values": sum(v.numel() for v in weights.values())}


def _run(args: argparse.Namespace) -> int:
    from ean.errors import UserError
    from ean.models.official import CheckpointFormatError

    if not Path(args.checkpoint).is_file():
        raise UserError(f"no such checkpoint: {args.checkpoint}")
    try:
        info = export_backbone(args.checkpoint, args.out)
    except CheckpointFormatError as exc:
        raise UserError(str(exc)) from None
    print(f"wrote {info['path']}: ResNet-{info['depth']} width {info['width']}, "
          f"{info['tensors']} tensors, {info['values']:,} values")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export-backbone", help="write a checkpoint's 2D ResNet weights for backbone.pretrained",
        description="Write the 2D conv/BN weights of a trained model's backbone in torchvision's "
                    "ResNet layout (no temporal modules, no classifier), the file that "
                    "model.backbone.pretrained loads.")
    p.add_argument("checkpoint", help="a checkpoint written by ean train (or ours)")
    p.add_argument("out", help="the .pth file to write")
    p.set_defaults(func=_run)
