"""What a profile's training would cost, from the per-run times a finished profile measured.

    rows = training_cost(load_profile("study"), measured=load_params("params.yaml"))

Each measured run records its training time per epoch (``metrics.csv``: ``epoch_time_s``)
and its wall time (``summary.json``); with its dataset's clip counts they give seconds per
training clip and per evaluated validation clip of that kind of model on the machine that
ran it, in its regime (``train.jobs`` single-thread processes side by side). A run of the
target profile is then priced as the measured variant with the same model family, LMC,
EABs and SOI-Tr (scaled by the measured 16-frame / 8-frame ratio when the frame count
differs) times its own epochs and clips. An extrapolation, labelled as such wherever shown.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ean.study.params import StudyParams


@dataclass
class Kind:
    family: str      # tsm (TSN and TSM: the same 2D backbone), baseline or ean
    lmc: bool
    eab: bool
    soi: bool
    segments: int


def _kind(params: StudyParams, variant: str) -> Kind:
    from ean.study.stages import build_run_config

    v = params.variants[variant]
    m = build_run_config(params, v, v.seeds[0]).model
    family = "tsm" if m.backbone.temporal in ("tsm", "none") and not m.eab.stages and not m.soi.stages else (
        "ean" if (v.preset or "").startswith("ean") else "baseline")
    return Kind(family, bool(m.lmc.enabled), bool(m.eab.stages), bool(m.soi.stages), int(m.num_segments))


def _clips(params: StudyParams, dataset: str) -> tuple[int, int]:
    """(training, validation) clips of a generated dataset, from its profile."""
    from ean.data.synth.profiles import get_profile
    from ean.data.synth.class_sets import class_names

    ds = params.datasets[dataset]
    if not ds.generated:
        raise ValueError(f"dataset {dataset}: only generated sets can be priced")
    prof = get_profile(ds.synth)
    k = len(class_names(prof.classes))
    return prof.train_per_class * k, prof.val_per_class * k


@dataclass
class Rate:
    train_s_per_clip: float
    eval_s_per_clip: float


def measured_rates(params: StudyParams, reports_dir: Optional[Path] = None) -> dict[str, Rate]:
    """Seconds per training clip and per evaluated validation clip of every variant whose
    runs are finished, averaged over its seeds."""
    reports_dir = Path(reports_dir or params.reports_dir)
    out = {}
    for name, v in params.variants.items():
        train_clips, val_clips = _clips(params, v.dataset)
        per_train, per_eval = [], []
        for run in v.run_names():
            summary, metrics = reports_dir / "runs" / run / "summary.json", reports_dir / "runs" / run / "metrics.csv"
            if not (summary.is_file() and metrics.is_file()):
                continue
            rows = list(csv.DictReader(metrics.open()))
            train_s = sum(float(r["epoch_time_s"]) for r in rows)
            evaluated = sum(int(float(r["val_videos"])) for r in rows if r.get("val_videos"))
            wall = float(json.loads(summary.read_text())["wall_time_s"])
            per_train.append(train_s / (len(rows) * train_clips))
            per_eval.append(max(wall - train_s, 0.0) / max(evaluated, val_clips))
        if per_train:
            out[name] = Rate(sum(per_train) / len(per_train), sum(per_eval) / len(per_eval))
    return out


def _match(kind: Kind, measured: dict[str, Kind]) -> tuple[str, float]:
    """The measured variant to price ``kind`` with, and the factor for its frame count."""
    def same(a: Kind, b: Kind) -> bool:
        return (a.family, a.lmc, a.eab, a.soi) == (b.family, b.lmc, b.eab, b.soi)

    exact = [n for n, k in measured.items() if same(k, kind) and k.segments == kind.segments]
    if exact:
        return exact[0], 1.0
    alike = [n for n, k in measured.items() if same(k, kind)]
    if not alike:   # e.g. no SOI-Tr-only model measured: the closest by family and LMC
        alike = [n for n, k in measured.items() if k.family == kind.family and k.lmc == kind.lmc] or list(measured)
    base = alike[0]
    return base, kind.segments / measured[base].segments


def training_cost(target: StudyParams, measured: StudyParams, reports_dir: Optional[Path] = None) -> list[dict]:
    """Per variant of ``target``: runs, epochs, clips, the measured variant it is priced as
    and the estimated seconds per run and in all (one CPU process per run)."""
    rates = measured_rates(measured, reports_dir)
    if not rates:
        return []
    kinds = {n: _kind(measured, n) for n in rates}
    # the measured cost of doubling the frames (16F / 8F EAN), for unmeasured frame counts
    t16 = [n for n in rates if kinds[n].family == "ean" and kinds[n].segments == 16 and not kinds[n].lmc]
    t8 = [n for n in rates if kinds[n].family == "ean" and kinds[n].segments == 8 and not kinds[n].lmc
          and kinds[n].eab and kinds[n].soi]
    frame_ratio = (rates[t16[0]].train_s_per_clip / rates[t8[0]].train_s_per_clip) if t16 and t8 else 2.0
    from ean.study.stages import build_run_config

    rows = []
    for name, v in target.variants.items():
        kind = _kind(target, name)
        cfg = build_run_config(target, v, v.seeds[0])   # the run's resolved schedule
        epochs, subset = cfg.optim.epochs, cfg.eval.subset
        every = cfg.eval.every or epochs
        if name in kinds and kinds[name] == kind:   # the same variant was measured
            base, factor = name, 1.0
        else:
            base, factor = _match(kind, kinds)
        if factor != 1.0:
            factor = frame_ratio ** (1 if factor > 1 else -1)
        train_clips, val_clips = _clips(target, v.dataset)
        evaluated = val_clips + sum(min(subset or val_clips, val_clips) for e in range(every, epochs, every))
        per_run = factor * (epochs * train_clips * rates[base].train_s_per_clip
                            + evaluated * rates[base].eval_s_per_clip)
        rows.append({"variant": name, "runs": len(v.seeds), "epochs": epochs, "train_clips": train_clips,
                     "val_clips": val_clips, "priced_as": base + ("" if factor == 1.0 else f" x{factor:.2f}"),
                     "seconds_per_run": round(per_run, 1), "seconds": round(per_run * len(v.seeds), 1)})
    return rows
