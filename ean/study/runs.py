"""The runs of a study profile as tables: one row per finished run, the training curves,
which runs are still missing."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional, Sequence

import pandas as pd

from ean.study.params import StudyParams, run_name


def load_runs(params: StudyParams, reports_dir: Optional[Path] = None) -> pd.DataFrame:
    """One row per run of the profile that has a summary: variant, seed, top1, top5, ..."""
    reports_dir = Path(reports_dir or params.reports_dir)
    rows = []
    for run, (variant, seed) in params.runs().items():
        path = reports_dir / "runs" / run / "summary.json"
        if not path.is_file():
            continue
        s = json.loads(path.read_text())
        last = s.get("last") or {}
        rows.append({"run": run, "variant": variant, "seed": seed,
                     "top1": last.get("top1"), "top5": last.get("top5"),
                     "best_top1": (s.get("best") or {}).get("top1"),
                     "epochs": s.get("epochs_done"), "completed": s.get("completed"),
                     "num_params": s.get("num_params"), "wall_s": s.get("wall_time_s"),
                     "clips_per_s": s.get("train_clips_per_s")})
    return pd.DataFrame(rows, columns=["run", "variant", "seed", "top1", "top5", "best_top1", "epochs",
                                       "completed", "num_params", "wall_s", "clips_per_s"])


def load_curves(params: StudyParams, variants: Sequence[str], reports_dir: Optional[Path] = None) -> pd.DataFrame:
    """Per-epoch training curves (``metrics.csv``) of the variants' finished runs."""
    reports_dir = Path(reports_dir or params.reports_dir)
    parts = []
    for v in variants:
        for seed in params.variants[v].seeds:
            path = reports_dir / "runs" / run_name(v, seed) / "metrics.csv"
            if path.is_file():
                df = pd.read_csv(path)
                df.insert(0, "seed", seed)
                df.insert(0, "variant", v)
                parts.append(df)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["variant", "seed", "epoch", "train_top1", "val_top1", "val_videos"])


def last_gains(curves: pd.DataFrame) -> dict[str, list[float]]:
    """Per variant, each run's validation top-1 gain over its last validation interval, on the
    same videos (``val_subset_top1`` where the curves have it)."""
    col = "val_subset_top1" if "val_subset_top1" in curves else "val_top1"
    out: dict[str, list[float]] = {}
    for (variant, _), run in curves.groupby(["variant", "seed"], sort=False):
        v = run.dropna(subset=[col])
        if len(v) >= 2:
            out.setdefault(variant, []).append(float(v[col].iloc[-1] - v[col].iloc[-2]))
    return out


def missing_runs(params: StudyParams, variants: Sequence[str], reports_dir: Optional[Path] = None) -> list[str]:
    reports_dir = Path(reports_dir or params.reports_dir)
    return [r for v in variants for r in params.variants[v].run_names()
            if not (reports_dir / "runs" / r / "summary.json").is_file()]
