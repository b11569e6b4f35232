"""What every study notebook does first: find the repository, read the profile, and (for
the smoke defaults) train whatever runs the notebook's table needs and does not find.

    params = setup(profile="smoke", params_file=None, table="05", train_missing=True)
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from ean.study.params import StudyParams, load_params, load_profile, repo_root


def setup(profile: str = "smoke", params_file: Optional[str] = None, table: Optional[str] = None,
          train_missing: bool = False, variants: Optional[list[str]] = None) -> StudyParams:
    """Enter the repository root and load the study parameters.

    ``params_file`` (e.g. ``params.yaml``, what ``dvc repro`` passes) wins over ``profile``.
    With ``train_missing`` the datasets, the pretraining and the runs that ``table`` (or the
    listed ``variants``) need are produced when absent (seconds with the ``smoke`` profile);
    without it a missing run is simply reported as missing in the table.
    """
    os.chdir(repo_root())
    params = load_params(params_file) if params_file else load_profile(profile)
    if train_missing and table is not None:
        ensure_table_runs(params, table)
    if train_missing and variants:
        ensure_runs(params, variants)
    return params


def ensure_table_runs(params: StudyParams, table: str) -> list[str]:
    """Produce what ``table`` needs and is missing; returns the runs trained."""
    return ensure_runs(params, params.table_variants(table))


def ensure_runs(params: StudyParams, variants: list[str]) -> list[str]:
    """Produce the datasets, pretraining and runs of ``variants`` that are missing."""
    from ean.study.runs import missing_runs
    from ean.study.stages import prepare_dataset, pretrain, train_run

    needed = {params.variants[v].dataset for v in variants}
    if params.pretrain is not None:
        needed.add(params.pretrain.dataset)
    from ean.study.stages import DECODED_FILE

    for name in sorted(needed):
        ds = params.datasets[name]
        stale = ds.generated and ds.decoded and not (Path(ds.root) / DECODED_FILE).is_file()
        if stale or not (params.reports_dir / "data" / f"{name}.json").is_file():
            prepare_dataset(params, name, progress=False)
    if params.pretrain is not None and not (Path(params.pretrain.out) / "backbone.pth").is_file():
        pretrain(params)
    todo = missing_runs(params, variants)
    for run in todo:
        train_run(params, run, progress=False)
    return todo


def findings(table) -> str:
    """What a table found, as Markdown: each row's Δ to the reference with its interval and
    what it says about the paper's Δ (the claims table's rule, ``ean.study.stats.verdict``)."""
    import math

    from ean.study.stats import Delta, verdict

    df = table.numbers
    if "ours_delta" not in df:
        return "_No paired comparison in this table._"
    ref = df["reference"].iloc[0] if len(df) else ""
    lines = []
    for _, r in df.iterrows():
        if r["row"] == ref:
            continue
        name = r["row"]
        if r.get("ours_delta") is None or (isinstance(r.get("ours_delta"), float) and math.isnan(r["ours_delta"])):
            note = next((row.get("note") for row in table.frame.to_dict("records")
                         if str(row.get("row", "")).startswith(name) and row.get("note")), "")
            lines.append(f"- **{name}**: not measured{f' ({note})' if note else ''}.")
            continue
        d = Delta(r["ours_delta"], r["ci_low"], r["ci_high"], 0, 0)
        p = r.get("paper_delta")
        has_paper = p is not None and not (isinstance(p, float) and math.isnan(p))
        word = verdict(float(p), d) if has_paper else ("resolved" if d.excludes_zero() else "unresolved")
        paper = f"paper {float(p):+.1f}" if has_paper else "no paper value"
        agree = r.get("agreement")
        agree_text = "" if agree is None or (isinstance(agree, float) and math.isnan(agree)) else \
            f", agreement {100 * agree:.0f}%"
        lines.append(f"- **{name}** vs {ref}: ours {d.mean:+.1f} [{d.low:+.1f}, {d.high:+.1f}] ({paper}{agree_text}): "
                     f"**{word}**.")
    return "\n".join(lines) if lines else "_No rows measured in this profile._"


def plateau(curves) -> str:
    """How much each variant's validation top-1 still rose between its last two validations,
    on the same videos (``val_subset_top1``: the subset the earlier validations use), mean
    over seeds."""
    from ean.study.runs import last_gains

    rows = []
    for variant, gains in last_gains(curves).items():
        rows.append(f"| {variant} | {sum(gains) / len(gains):+.1f} | {len(gains)} |")
    if not rows:
        return "_No run has two validations yet._"
    return "\n".join(["| variant | top-1 gain over the last validation interval (points) | runs |",
                      "|---|---|---|", *rows])
