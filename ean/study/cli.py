"""``ean study``: switch profiles, regenerate dvc.yaml, and the commands the stages run.

    ean study use smoke|default|study|paper   # params.yaml + dvc.yaml of that profile
    ean study pipeline [--check]              # dvc.yaml from params.yaml
    ean study status                          # which runs exist, accuracy so far
    ean study readme [--check]                # README results section from reports/
    ean study data NAME | pretrain | train RUN | train-variant VARIANT | train-all | table ID
                                              (what the DVC stages call)
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from ean.errors import UserError


def _params(args):
    from ean.study.params import load_params

    return load_params(args.params)


def _use(args) -> int:
    from ean.study import pipeline
    from ean.study.params import load_params, profile_path, repo_root

    root = repo_root()
    src = profile_path(args.profile, root)
    load_params(src)  # refuse a broken profile before touching params.yaml
    if args.rehearse:
        import yaml

        from ean.study.params import parse_params
        from ean.study.rehearsal import rehearsal

        raw = rehearsal(yaml.safe_load(src.read_text()))
        parse_params(raw, src)
        header = (f"# The {args.profile!r} profile rehearsed on small generated data in the official formats\n"
                  f"# (written by `ean study use {args.profile} --rehearse`; see ean/study/rehearsal.py).\n")
        (root / "params.yaml").write_text(header + yaml.safe_dump(raw, sort_keys=False, width=120))
    else:
        shutil.copy(src, root / "params.yaml")
    params = load_params(root / "params.yaml")
    pipeline.write(params, root / "dvc.yaml")
    print(f"params.yaml and dvc.yaml now hold the {params.profile!r} profile "
          f"({len(params.runs())} training runs); run `dvc repro`")
    return 0


def _pipeline(args) -> int:
    from ean.study import pipeline

    params = _params(args)
    if args.check:
        if not pipeline.is_current(params, args.out):
            raise UserError(f"{args.out} is out of date with {args.params}; run `ean study pipeline`")
        print(f"{args.out} is up to date")
        return 0
    pipeline.write(params, args.out)
    print(f"wrote {args.out}: {len(params.runs())} training runs, {len(params.tables)} tables")
    return 0


def _status(args) -> int:
    from ean.study.row_accuracy import variant_accuracy
    from ean.study.runs import load_runs

    params = _params(args)
    runs = load_runs(params)
    total = len(params.runs())
    print(f"profile {params.profile}: {len(runs)}/{total} runs finished")
    acc = variant_accuracy(runs)
    for name, row in acc.iterrows():
        print(f"  {name:28s} top-1 {row['top1_mean']:5.1f} (n={int(row['n'])})")
    return 0


def _data(args) -> int:
    from ean.study.stages import prepare_dataset

    out = prepare_dataset(_params(args), args.name, progress=not args.quiet)
    print(f"dataset {args.name}: {out['clips']['train']} training and {out['clips']['validation']} "
          f"validation clips, all readable ({out['seconds']} s)")
    return 0


def _pretrain(args) -> int:
    from ean.study.stages import pretrain

    rep = pretrain(_params(args))
    print(f"pretrained {rep['preset']}: backbone weights in {rep['backbone']['path']}")
    return 0


def _train(args) -> int:
    from ean.study.stages import train_run

    train_run(_params(args), args.run, progress=False if args.quiet else None)
    return 0


def _train_variant(args) -> int:
    from ean.study.stages import train_variant

    summaries = train_variant(_params(args), args.variant, jobs=args.jobs, progress=not args.quiet)
    for s in summaries:
        last = s.get("last") or {}
        print(f"{s['run_dir']}: top-1 {last.get('top1', float('nan')):.1f} after {s['epochs_done']} epochs "
              f"({s['wall_time_s']:.0f} s)")
    return 0


def _train_all(args) -> int:
    from ean.study.stages import train_all

    for s in train_all(_params(args), jobs=args.jobs, progress=not args.quiet):
        last = s.get("last") or {}
        print(f"{s['run_dir']}: top-1 {last.get('top1', float('nan')):.1f} after {s['epochs_done']} epochs "
              f"({s['wall_time_s']:.0f} s)")
    return 0


def _table(args) -> int:
    from ean.study.results import build_table

    table = build_table(args.id, _params(args))
    md, csv = table.write(args.out)
    print(table.markdown())
    print(f"wrote {md} and {csv}")
    return 0


def _readme(args) -> int:
    from ean.study.readme import update

    current = update(Path(args.readme), Path(args.reports), check=args.check)
    if args.check and not current:
        raise UserError(f"{args.readme}: the results section is out of date; run `ean study readme`")
    print(f"{args.readme}: results section {'up to date' if current else 'rewritten'}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("study", help="the DVC study: profiles, pipeline, stages, tables",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--params", default="params.yaml", help="study parameters (default: params.yaml)")
    sub = p.add_subparsers(dest="study_command", metavar="STUDY_COMMAND")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])

    s = sub.add_parser("use", help="make a profile the active one (params.yaml, dvc.yaml)")
    s.add_argument("profile", help="smoke, default, study or paper (configs/study/profiles/)")
    s.add_argument("--rehearse", action="store_true",
                   help="the profile on small generated data in its datasets' official formats, tiny "
                        "networks, a few steps, torchrun on CPU processes (ean/study/rehearsal.py)")
    s.set_defaults(func=_use)
    s = sub.add_parser("pipeline", help="write dvc.yaml from params.yaml")
    s.add_argument("--out", default="dvc.yaml")
    s.add_argument("--check", action="store_true", help="only check that it is up to date")
    s.set_defaults(func=_pipeline)
    s = sub.add_parser("status", help="finished runs and their accuracy")
    s.set_defaults(func=_status)
    s = sub.add_parser("data", help="generate (embedded) and validate a dataset of the profile")
    s.add_argument("name")
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=_data)
    s = sub.add_parser("pretrain", help="train the pretraining network, export its 2D backbone")
    s.set_defaults(func=_pretrain)
    s = sub.add_parser("train", help="train one run (VARIANT-sSEED) and publish its results")
    s.add_argument("run")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=_train)
    s = sub.add_parser("train-variant", help="train every seed of one variant (train.jobs at a time)")
    s.add_argument("variant")
    s.add_argument("--jobs", type=int, default=None, help="runs side by side (default: train.jobs)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=_train_variant)
    s = sub.add_parser("train-all", help="train every run on a pool of train.jobs workers, costliest first")
    s.add_argument("--jobs", type=int, default=None, help="worker processes (default: train.jobs)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=_train_all)
    s = sub.add_parser("table", help="build one table (01..10, paper_vs_code) from the finished runs")
    s.add_argument("id")
    s.add_argument("--out", default="reports/tables")
    s.set_defaults(func=_table)
    s = sub.add_parser("readme", help="regenerate the README's results section from reports/")
    s.add_argument("--readme", default="README.md")
    s.add_argument("--reports", default="reports")
    s.add_argument("--check", action="store_true")
    s.set_defaults(func=_readme)
