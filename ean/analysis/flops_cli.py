"""``ean flops PRESET``: parameters and MACs of a preset (fvcore convention, see ean.analysis.flops)."""
from __future__ import annotations

import argparse
import json

import yaml

from ean.analysis.flops import count_config
from ean.models.presets import get_preset, list_presets


def parse_set(items: list[str]) -> dict:
    """``["eab.fusion=identity", "soi.stages=[]"]`` -> dotted overrides (values parsed as YAML)."""
    from ean.errors import UserError

    out = {}
    for item in items or []:
        if "=" not in item:
            raise UserError(f"--set expects key=value, got {item!r}")
        key, value = item.split("=", 1)
        out[key.strip()] = yaml.safe_load(value)
    return out


def run(args: argparse.Namespace) -> int:
    overrides = parse_set(args.set)
    if args.num_classes is not None:
        overrides["num_classes"] = args.num_classes
    if args.semantics is not None:
        overrides["semantics"] = args.semantics
    if args.frames is not None:
        overrides["num_segments"] = args.frames
    if args.size is not None:
        overrides["input_size"] = args.size
    cfg = get_preset(args.preset, set=overrides)
    c = count_config(cfg)
    if args.json:
        print(json.dumps(c.to_dict(), indent=2))
        return 0
    print(f"{cfg.name} ({cfg.semantics} semantics): {c.frames}x{c.segment_length} frames at "
          f"{c.size}x{c.size}, {c.num_classes} classes")
    print(f"  params  {c.params:>14,}")
    print(f"  GMACs   {c.gmacs:>14.3f}   (fvcore convention: 1 multiply-accumulate = 1 flop)")
    print("  by module:")
    for name, macs in c.by_module.items():
        print(f"    {name:<18} {macs / 1e9:>9.3f} GMACs  {c.params_by_module[name]:>12,} params")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("flops", help="count parameters and MACs of a model preset",
                              description=__doc__)
    p.add_argument("preset", choices=list_presets(), metavar="PRESET",
                   help="one of: " + ", ".join(list_presets()))
    p.add_argument("--frames", type=int, help="segments T (default: the preset's)")
    p.add_argument("--num-classes", type=int, help="classifier size (default: the preset's)")
    p.add_argument("--size", type=int, help="input height = width (default: the preset's)")
    p.add_argument("--semantics", choices=["authors", "paper"])
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="dotted model-config override, e.g. eab.fusion=identity (repeatable)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
