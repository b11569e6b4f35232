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
    from ean.study.results import missing_runs
    from ean.study.stages import prepare_dataset, pretrain, train_run

    needed = {params.variants[v].dataset for v in variants}
    if params.pretrain is not None:
        needed.add(params.pretrain["dataset"])
    from ean.study.stages import DECODED_FILE

    for name in sorted(needed):
        ds = params.datasets[name]
        stale = ds.generated and ds.decoded and not (Path(ds.root) / DECODED_FILE).is_file()
        if stale or not (params.reports_dir / "data" / f"{name}.json").is_file():
            prepare_dataset(params, name, progress=False)
    if params.pretrain is not None and not (Path(params.pretrain["out"]) / "backbone.pth").is_file():
        pretrain(params)
    todo = missing_runs(params, variants)
    for run in todo:
        train_run(params, run, progress=False)
    return todo
