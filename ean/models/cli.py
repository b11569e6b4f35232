"""``ean convert-official`` and ``ean export-backbone``: the model package's commands."""
from __future__ import annotations

import argparse
from pathlib import Path

from ean.errors import UserError


def cmd_convert_official(args: argparse.Namespace) -> int:
    from ean.models.checkpoint import CheckpointFormatError
    from ean.models.convert_official import convert_official

    if args.num_classes is not None and args.num_classes < 1:
        raise UserError("--num-classes must be >= 1")
    if Path(args.dst).resolve() == Path(args.src).resolve():
        raise UserError("DST must differ from SRC")
    try:
        result = convert_official(args.src, args.dst, args.preset, args.num_classes)
    except CheckpointFormatError as exc:
        raise UserError(str(exc)) from None
    cfg = result["model_config"]
    print(f"wrote {args.dst}: {cfg['name']} ({cfg['num_segments']}x{cfg['segment_length']} frames, "
          f"{cfg['num_classes']} classes, {sum(v.numel() for v in result['model'].values() if v.is_floating_point()):,} "
          f"floating-point values)")
    return 0


def cmd_export_backbone(args: argparse.Namespace) -> int:
    from ean.models.checkpoint import CheckpointFormatError
    from ean.models.export import export_backbone

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
    from ean.models.presets import list_presets

    p = subparsers.add_parser(
        "convert-official", help="convert a checkpoint of the authors' EAN-Pytorch code into ours",
        description="Convert a checkpoint saved by the authors' EAN-Pytorch training/test scripts "
                    "(DataParallel 'module.' keys, {'state_dict': ...}) into an ean checkpoint. "
                    "The model (8/16 frames, RGB or RGB+LMC) and class count are inferred unless given. "
                    "Their model takes (B, T*L*3, H, W); ours (B, 3, T*L, H, W). Mind the input "
                    "normalisation (see `ean.models.convert_official`).")
    p.add_argument("src", metavar="SRC", help="the authors' checkpoint (.pth.tar)")
    p.add_argument("dst", metavar="DST", help="where to write the converted checkpoint")
    p.add_argument("--preset", choices=list_presets(), metavar="NAME",
                   help="model preset (default: inferred); one of: " + ", ".join(list_presets()))
    p.add_argument("--num-classes", type=int, help="classifier size (default: from the checkpoint)")
    p.set_defaults(func=cmd_convert_official)

    p = subparsers.add_parser(
        "export-backbone", help="write a checkpoint's 2D ResNet weights for backbone.pretrained",
        description="Write the 2D conv/BN weights of a trained model's backbone in torchvision's "
                    "ResNet layout (no temporal modules, no classifier), the file that "
                    "model.backbone.pretrained loads.")
    p.add_argument("checkpoint", help="a checkpoint written by ean train (or ours)")
    p.add_argument("out", help="the .pth file to write")
    p.set_defaults(func=cmd_export_backbone)
