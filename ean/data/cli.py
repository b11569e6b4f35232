"""``ean data`` commands: synth, validate, extract, stats."""
from __future__ import annotations

import json
import os
import sys

from .config import FORMATS
from .synth.profiles import PROFILES


def register(subparsers) -> None:
    p = subparsers.add_parser("data", help="prepare, generate and check video datasets")
    sub = p.add_subparsers(dest="data_command", metavar="DATA_COMMAND")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])

    s = sub.add_parser("synth", help="generate the embedded synthetic Something-style dataset")
    s.add_argument("out", help="output folder (created; re-running completes an interrupted run)")
    s.add_argument("--profile", default="default", choices=list(PROFILES))
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--workers", type=int, default=2, help="parallel processes (default 2)")
    s.add_argument("--stats", action="store_true",
                   help="print the statistics (JSON) after generating")
    s.set_defaults(func=_synth)

    v = sub.add_parser("validate", help="check every entry of an annotation file")
    v.add_argument("annotation")
    v.add_argument("--format", required=True, choices=FORMATS)
    v.add_argument("--root", default="", help="folder the annotation's paths are relative to")
    v.add_argument("--labels", default=None, help="class-name file")
    v.add_argument("--num-classes", type=int, default=None)
    v.add_argument("--num-segments", type=int, default=8)
    v.add_argument("--segment-length", type=int, default=1)
    v.add_argument("--min-frames", type=int, default=3)
    v.add_argument("--media", default="auto", choices=["auto", "video", "frames"])
    v.add_argument("--frame-template", default="auto")
    v.add_argument("--workers", type=int, default=2)
    v.add_argument("--json", action="store_true", help="print a JSON report instead of lines")
    v.set_defaults(func=_validate)

    e = sub.add_parser("extract", help="convert videos (e.g. SSv2 .webm) to H.264 mp4 or JPEGs")
    e.add_argument("src", help="folder of source videos")
    e.add_argument("out", help="output folder")
    e.add_argument("--to", default="mp4", choices=["mp4", "jpg"])
    e.add_argument("--ext", default="webm", help="source extension when no annotation is given")
    e.add_argument("--annotation", default=None, help="only the videos of this annotation")
    e.add_argument("--format", default="sthv2", choices=FORMATS)
    e.add_argument("--labels", default=None)
    e.add_argument("--short-side", type=int, default=0, help="resize (0 = keep the size)")
    e.add_argument("--workers", type=int, default=2)
    e.set_defaults(func=_extract)

    t = sub.add_parser("stats", help="statistics of a synthetic profile (from the clip specs)")
    t.add_argument("--profile", default="default", choices=list(PROFILES))
    t.add_argument("--seed", type=int, default=0)
    t.set_defaults(func=_stats)


def _synth(args) -> int:
    from .synth.writer import generate

    stats = generate(args.out, args.profile, args.seed, workers=args.workers)
    sp = stats["splits"]
    print(f"wrote {args.out}: {sp['train']['clips']} train + {sp['validation']['clips']} "
          f"validation clips, {stats['num_classes']} classes, {stats['height']}x{stats['width']}, "
          f"{stats['generated_clips']} generated in {stats['seconds']:.1f} s")
    if args.stats:
        print(json.dumps(stats, indent=1))
    return 0


def _validate(args) -> int:
    from ..errors import UserError
    from .config import DataConfig
    from .validate import validate

    if not os.path.exists(args.annotation):
        raise UserError(f"annotation not found: {args.annotation}")
    try:
        cfg = DataConfig(format=args.format, annotation=args.annotation, root=args.root,
                         labels=args.labels, num_classes=args.num_classes,
                         num_segments=args.num_segments, segment_length=args.segment_length,
                         min_frames=args.min_frames, media=args.media,
                         frame_template=args.frame_template)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    report = validate(cfg, workers=args.workers, progress=not args.json)
    if args.json:
        print(json.dumps(report.to_dict(), indent=1))
    else:
        for f in report.errors + report.warnings:
            print(f.line())
        print(report.summary(), file=sys.stderr)
    return 0 if report.ok else 1


def _extract(args) -> int:
    from ..errors import UserError
    from .extract import convert_all

    if not os.path.isdir(args.src):
        raise UserError(f"source folder not found: {args.src}")
    if args.annotation:
        from .config import DataConfig
        from .formats import parse_annotation
        cfg = DataConfig(format=args.format, annotation=args.annotation, root=args.src,
                         labels=args.labels, media="video", video_ext=[args.ext])
        records, problems = parse_annotation(args.annotation, cfg)
        for p in problems:
            print(f"warning: {p}", file=sys.stderr)
        sources = [r.path for r in records]
    else:
        ext = "." + args.ext.lstrip(".")
        sources = sorted(os.path.join(args.src, f) for f in os.listdir(args.src) if f.endswith(ext))
    if not sources:
        raise UserError(f"no .{args.ext.lstrip('.')} videos found in {args.src}")
    failed = convert_all(sources, args.out, args.to, args.short_side, args.workers)
    print(f"converted {len(sources) - len(failed)} of {len(sources)} videos into {args.out}",
          file=sys.stderr)
    return 1 if failed else 0


def _stats(args) -> int:
    from .synth.writer import spec_stats

    print(json.dumps(spec_stats(args.profile, args.seed), indent=1))
    return 0
