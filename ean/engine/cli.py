"""``ean train``, ``ean eval``, ``ean ensemble`` and ``ean predict``."""
from __future__ import annotations

import argparse
import json
import sys

from ean.errors import UserError

EXIT_DIVERGED = 3
EXIT_INTERRUPTED = 130
EXIT_DATA = 4  # too many unreadable training videos (data.max_skip_fraction)


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="train a model from a YAML config (resumable)",
                              description="Train from CONFIG.yaml into RUN_DIR; key=value arguments override "
                                          "config settings, e.g. optim.base_lr=0.02 runtime.seed=1. "
                                          "Multi-GPU: torchrun --nproc_per_node N -m ean.cli train ...")
    p.add_argument("config", help="YAML config (configs/...)")
    p.add_argument("overrides", nargs=argparse.REMAINDER, metavar="key=value ...",
                   help="dotted setting overrides (before or after the options)")
    p.add_argument("--out", metavar="RUN_DIR", help="run directory (checkpoints, metrics, logs); required")
    p.add_argument("--resume", action="store_true",
                   help="continue from the newest good checkpoint in RUN_DIR (start fresh if there is none)")
    p.set_defaults(func=cmd_train)

    p = subparsers.add_parser("eval", help="evaluate a checkpoint under a test protocol",
                              description="Evaluate CHECKPOINT; writes per-video scores (.npz) for "
                                          "`ean ensemble` and a report (.json).")
    p.add_argument("checkpoint")
    p.add_argument("--data", metavar="YAML", help="data settings: a train config (its data: section) or a "
                   "mapping of DataConfig fields; default: the settings the checkpoint was trained with")
    p.add_argument("--set", dest="data_overrides", action="append", default=[], metavar="key=value",
                   help="override a data setting, e.g. --set root=/data/sthv1 (repeatable)")
    p.add_argument("--protocol", choices=["1clip", "2clip", "10x3"], default="1clip")
    p.add_argument("--aggregate", choices=["logits", "softmax"], default="logits",
                   help="average the views' logits (authors) or softmax probabilities")
    p.add_argument("--split", choices=["val", "train"], default="val")
    p.add_argument("--batch-size", type=int, default=4, help="videos per batch (per process)")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", choices=["fp32", "bf16", "fp16", "auto"], default="fp32")
    p.add_argument("--out", help="scores file (.npz; a .json report is written next to it)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_eval)

    p = subparsers.add_parser("ensemble", help="sum the per-video scores of several runs (e.g. 8F + 16F)")
    p.add_argument("scores", nargs="+", help="scores files written by `ean eval` (.npz)")
    p.add_argument("--weights", type=float, nargs="+", help="one weight per file (default 1)")
    p.add_argument("--softmax", action="store_true", help="softmax each file's scores before summing")
    p.add_argument("--intersect", action="store_true", help="use the videos common to all files")
    p.add_argument("--out", help="write the ensembled scores (.npz)")
    p.set_defaults(func=cmd_ensemble)

    p = subparsers.add_parser("predict", help="top-5 classes of one video file")
    p.add_argument("video")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--protocol", choices=["1clip", "2clip", "10x3"], default="1clip")
    p.add_argument("--topk", type=int, default=5)
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_predict)


def _parse_pairs(items: list[str], what: str) -> dict:
    import yaml

    out = {}
    for item in items:
        if "=" not in item:
            raise UserError(f"{what} {item!r} is not of the form key=value")
        key, value = item.split("=", 1)
        out[key.strip()] = yaml.safe_load(value) if value.strip() else None
    return out


def cmd_train(args) -> int:
    from ean.engine.config import load_config
    from ean.data.loader import DataSkipError
    from ean.engine.divergence import TrainingDiverged
    from ean.engine.loop import train
    from ean.engine.preemption import TrainingInterrupted

    # options may follow the overrides: `ean train CFG a.b=1 --out RUN --resume`
    late = argparse.ArgumentParser(prog="ean train", add_help=False)
    late.add_argument("--out")
    late.add_argument("--resume", action="store_true")
    known, overrides = late.parse_known_args(args.overrides)
    flags = [item for item in overrides if item.startswith("-")]
    if flags:
        raise UserError(f"unknown option(s) {flags}; settings are given as section.key=value")
    out = known.out or args.out
    if not out:
        raise UserError("--out RUN_DIR is required")
    args.out, args.resume = out, args.resume or known.resume
    cfg = load_config(args.config, overrides)
    try:
        summary = train(cfg, args.out, resume=args.resume)
    except TrainingDiverged as exc:
        print(f"ean train: error: {exc}", file=sys.stderr)
        return EXIT_DIVERGED
    except TrainingInterrupted as exc:
        print(f"ean train: {exc}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except DataSkipError as exc:
        print(f"ean train: error: {exc}", file=sys.stderr)
        return EXIT_DATA
    return 0 if summary["completed"] or cfg.runtime.max_steps else 1


def cmd_eval(args) -> int:
    from pathlib import Path

    from ean.config import read_yaml
    from ean.engine.evaluate import evaluate_checkpoint

    overrides = {}
    if args.data:
        raw = read_yaml(Path(args.data))
        overrides = dict(raw.get("data", raw)) if isinstance(raw.get("data", raw), dict) else {}
        for key in ("num_segments", "segment_length", "input_size"):
            overrides.pop(key, None)  # the model decides the clip geometry
    overrides.update(_parse_pairs(args.data_overrides, "--set"))
    report, path = evaluate_checkpoint(args.checkpoint, overrides, args.protocol, args.aggregate, args.split,
                                       args.batch_size, args.workers, args.device, args.precision,
                                       progress=not args.no_progress, out=args.out)
    if path is not None:
        print(f"{args.protocol} ({args.aggregate}) on {report['num_videos']} videos: top-1 {report['top1']:.2f}%  "
              f"top-5 {report['top5']:.2f}%  mean class {report['mean_class_acc']:.2f}%"
              + (f"  ({report['num_skipped']} unreadable videos skipped)" if report["num_skipped"] else ""))
        print(f"scores: {path}  report: {path.with_suffix('.json')}")
    return 0


def cmd_ensemble(args) -> int:
    from ean.engine.ensemble import ensemble_files
    from ean.engine.metrics import classification_report
    from ean.engine.scores import save_scores

    result, names, singles = ensemble_files(args.scores, weights=args.weights, softmax=args.softmax,
                                            intersect=args.intersect)
    width = max(len(n) for n in list(singles) + ["ensemble"])
    print(f"{'scores':<{width}}  {'videos':>6}  {'top-1':>6}  {'top-5':>6}  {'mean cls':>8}")
    for name, rep in singles.items():
        print(f"{name:<{width}}  {rep['num_videos']:>6}  {rep['top1']:6.2f}  {rep['top5']:6.2f}  "
              f"{rep['mean_class_acc']:8.2f}")
    rep = classification_report(result.scores, result.labels)
    print(f"{'ensemble':<{width}}  {rep['num_videos']:>6}  {rep['top1']:6.2f}  {rep['top5']:6.2f}  "
          f"{rep['mean_class_acc']:8.2f}")
    if args.out:
        save_scores(args.out, result, names, {"members": json.dumps([str(s) for s in args.scores])})
        print(f"ensemble scores: {args.out}")
    return 0


def cmd_predict(args) -> int:
    import torch

    from ean.engine.predict import predict_video
    from ean.engine.trained import load_trained

    device = torch.device(args.device)
    model, state = load_trained(args.checkpoint, device)
    top = predict_video(args.video, model, state, args.protocol, topk=args.topk, device=device)
    if args.json:
        print(json.dumps([{"label": name, "probability": p} for name, p in top]))
    else:
        width = max(len(name) for name, _ in top)
        for rank, (name, p) in enumerate(top, 1):
            print(f"{rank}. {name:<{width}}  {p:6.1%}")
    return 0


def main(argv=None) -> int:  # pragma: no cover - `python -m ean.engine.cli` convenience
    parser = argparse.ArgumentParser(prog="ean")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)
