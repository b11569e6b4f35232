"""The accuracy of a table row, read from its runs' validation scores.

A row spec is a variant, ``variant@protocol`` (its runs evaluated under another test
protocol, e.g. ``@2clip``), or a list of them (an ensemble: their logits averaged per
seed). Accuracy is the validation top-1/top-5 after the last epoch (not the best epoch,
which would select on the validation set). Two rows are compared paired (same seeds, same
videos), with a 95 % crossed bootstrap interval over videos x seeds (``ean.study.stats``),
beside the per-video agreement of their predictions.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from ean.study.params import StudyParams, run_name
from ean.study.stats import Correctness, Delta, agreement, paired_delta, scores_correctness


def _member(spec: str) -> tuple[str, str]:
    """``variant`` or ``variant@protocol`` -> (variant, scores file name)."""
    variant, _, protocol = spec.partition("@")
    return variant, ("val_scores.npz" if protocol in ("", "1clip") else f"val_scores_{protocol}.npz")


def spec_variants(spec) -> list[str]:
    """The variants a row spec trains."""
    if spec is None:
        return []
    return [_member(m)[0] for m in (spec if isinstance(spec, (list, tuple)) else [spec])]


def row_correctness(params: StudyParams, spec, reports_dir: Optional[Path] = None) -> Optional[Correctness]:
    """Per-(seed, video) results of a row (variant, ``variant@protocol`` or ensemble list), over
    the seeds all its members have finished; None when there are none."""
    if spec is None:
        return None
    reports_dir = Path(reports_dir or params.reports_dir)
    members = [_member(m) for m in (spec if isinstance(spec, (list, tuple)) else [spec])]
    seeds = sorted(set.intersection(*(set(params.variants[v].seeds) for v, _ in members)))
    paths, have = [], []
    for seed in seeds:
        files = [reports_dir / "runs" / run_name(v, seed) / name for v, name in members]
        if all(f.is_file() for f in files):
            paths.append(files)
            have.append(seed)
    if not have:
        return None
    return scores_correctness(paths, have)


def ensemble_accuracy(params: StudyParams, members: Sequence[str],
                      reports_dir: Optional[Path] = None) -> pd.DataFrame:
    """Per seed, top-1/top-5 of the average logits of ``members`` (seeds they share)."""
    c = row_correctness(params, list(members), reports_dir)
    rows = [] if c is None else [{"variant": "+".join(members), "seed": s, "top1": float(a), "top5": float(a5)}
                                 for s, a, a5 in zip(c.seeds, c.accuracy, c.accuracy5)]
    return pd.DataFrame(rows, columns=["variant", "seed", "top1", "top5"])


def variant_accuracy(runs: pd.DataFrame) -> pd.DataFrame:
    """mean / std (sample, ddof=1) / n of top-1 and top-5 per variant."""
    if runs.empty:
        return pd.DataFrame(columns=["top1_mean", "top1_std", "top5_mean", "top5_std", "n"])
    g = runs.groupby("variant", sort=False)
    out = pd.DataFrame({"top1_mean": g["top1"].mean(), "top1_std": g["top1"].std(ddof=1),
                        "top5_mean": g["top5"].mean(), "top5_std": g["top5"].std(ddof=1),
                        "n": g["top1"].count()})
    return out


def mean_std(mean: float, std: float, n: int) -> str:
    if n is None or n == 0 or mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return ""
    if n == 1 or std is None or (isinstance(std, float) and math.isnan(std)):
        return f"{mean:.1f} (1 seed)"
    return f"{mean:.1f} ± {std:.1f}"


def accuracy_of(params: StudyParams, spec, reports_dir: Optional[Path] = None) -> dict:
    """mean/std (over seeds)/n of top-1/5 of a row spec (see :func:`row_correctness`)."""
    c = row_correctness(params, spec, reports_dir)
    if c is None:
        return {}
    a, a5 = c.accuracy, c.accuracy5
    std = lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else float("nan")  # noqa: E731
    return {"top1_mean": float(a.mean()), "top1_std": std(a), "top5_mean": float(a5.mean()), "top5_std": std(a5),
            "n": len(c.seeds), "seeds": list(c.seeds), "videos": int(len(c.indices))}


def compare(params: StudyParams, spec, ref_spec, reports_dir: Optional[Path] = None,
            cache: Optional[dict] = None) -> tuple[Optional[Delta], Optional[float]]:
    """Paired Δ (row - reference) with its CI, and the per-video agreement, or (None, None)."""
    cache = {} if cache is None else cache

    def get(sp):
        key = repr(sp)
        if key not in cache:
            cache[key] = row_correctness(params, sp, reports_dir)
        return cache[key]

    a, b = get(spec), get(ref_spec)
    if a is None or b is None or not set(a.seeds) & set(b.seeds):
        return None, None
    return paired_delta(a, b), agreement(a, b)


def fmt_delta(d: Optional[Delta]) -> str:
    if d is None:
        return ""
    return f"{d.mean:+.1f} [{d.low:+.1f}, {d.high:+.1f}]"
