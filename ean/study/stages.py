"""What each pipeline stage does: prepare a dataset, pretrain, train one run.

Every stage is a command (``ean study data|pretrain|train``) that reads ``params.yaml`` and
writes only its declared outputs, so DVC can cache and skip it:

* ``data NAME``   -> the generated clips under ``datasets.NAME.root`` (generated sets; with
  ``decoded: true`` also ``ROOT/decoded.npz``, every frame decoded once) and
  ``REPORTS/data/NAME.json`` (the validation report of both splits);
* ``pretrain``    -> ``pretrain.out``: the run, and ``backbone.pth``, its 2D weights;
* ``train RUN``   -> ``RUNS/RUN/`` (checkpoints, logs) and ``REPORTS/runs/RUN/``
  (``summary.json``, ``metrics.csv``, ``val_scores.npz``: small, kept in git).
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any, Optional

from ean.cli import UserError
from ean.study.params import Dataset, StudyParams, Variant

RUN_REPORT_FILES = ("summary.json", "metrics.csv", "val_scores.npz", "config.yaml")
DECODED_FILE = "decoded.npz"


def data_section(ds: Dataset) -> dict[str, Any]:
    """The ``data`` overrides that point a TrainConfig at dataset ``ds``."""
    if ds.generated:
        root = Path(ds.root)
        out = {"format": "sthv2", "annotation": str(root / "train.json"),
               "val_annotation": str(root / "validation.json"), "labels": str(root / "labels.json"),
               "root": str(root / "videos"), "media": "video", "video_ext": ["mp4"]}
        if ds.decoded:
            out["cache_file"] = str(root / DECODED_FILE)
        return out
    from ean.engine.config import read_yaml
    return dict(read_yaml(Path(ds.config)).get("data") or {})


# ------------------------------------------------------------------------------ data
def prepare_dataset(params: StudyParams, name: str, workers: int = 2, progress: bool = True) -> dict:
    """Generate (if generated) and validate dataset ``name``; write its report."""
    from ean.data.config import DataConfig
    from ean.data.synth.writer import generate
    from ean.data.validate import validate

    if name not in params.datasets:
        raise UserError(f"unknown dataset {name!r}; the profile has {sorted(params.datasets)}")
    ds = params.datasets[name]
    t0 = time.perf_counter()
    stats = None
    if ds.generated:
        stats = generate(ds.root, ds.synth, seed=ds.seed, workers=workers, progress=progress)
    cfg = DataConfig.from_dict(data_section(ds))
    reports = {}
    for split, annotation in (("train", cfg.annotation), ("validation", cfg.val_annotation or cfg.annotation)):
        rep = validate(cfg, annotation, workers=workers, progress=progress)
        if not rep.ok:
            raise UserError(f"dataset {name}: {rep.summary()}; first problem: {rep.errors[0].line()}")
        reports[split] = rep.to_dict()
    decoded = None
    if ds.generated and ds.decoded:
        from ean.data.decoded import write_decoded

        plain = DataConfig.from_dict({k: v for k, v in data_section(ds).items() if k != "cache_file"})
        decoded = write_decoded(plain, Path(ds.root) / DECODED_FILE, progress=progress)
    out = {"dataset": name, "synth": ds.synth, "seed": ds.seed if ds.generated else None,
           "clips": {k: v["checked"] for k, v in reports.items()}, "decoded": decoded,
           "validation": reports, "seconds": round(time.perf_counter() - t0, 1)}
    if stats is not None:
        out["stats"] = {k: stats[k] for k in ("classes", "train", "validation") if k in stats}
    path = params.reports_dir / "data" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    return out


# ------------------------------------------------------------------------- configs
def _pretrained_path(params: StudyParams) -> Optional[str]:
    if params.pretrain is None:
        return None
    return str(Path(params.pretrain["out"]) / "backbone.pth")


def variant_overrides(params: StudyParams, variant: Variant, seed: int) -> dict[str, Any]:
    """Every dotted override of one run, in the order they apply."""
    sets: dict[str, Any] = {}
    if variant.preset:
        sets["model.preset"] = variant.preset
    for key, value in variant.set.items():
        sets[key if key.split(".")[0] in ("model", "data", "optim", "eval", "runtime") else f"model.{key}"] = value
    ds = params.datasets[variant.dataset]
    if ds.generated:
        sets.update({f"data.{k}": v for k, v in data_section(ds).items()})
    pretrained = _pretrained_path(params)
    if pretrained is not None:
        sets["model.backbone.pretrained"] = pretrained
    sets.update({"runtime.seed": seed, "data.seed": seed})
    return sets


def build_run_config(params: StudyParams, variant: Variant, seed: int):
    """The TrainConfig of one run: the variant's (or the profile's) YAML + train.set + the
    variant's model changes + data paths + pretrained weights + seed."""
    from ean.engine.config import apply_overrides, build_config, read_yaml

    config = variant.config or params.train["config"]
    raw = read_yaml(Path(config))
    overrides = {**{k: v for k, v in params.train["set"].items()}, **variant_overrides(params, variant, seed)}
    if "model.preset" in overrides:
        # the variant's preset replaces the YAML's; the YAML's other model keys still apply
        raw["model"] = {**(raw.get("model") or {}), "preset": overrides.pop("model.preset")}
    apply_overrides(raw, [f"{k}={json.dumps(v)}" for k, v in overrides.items()])
    return build_config(raw, f"{config} (variant {variant.name}, seed {seed})")


# ------------------------------------------------------------------------ pretrain
def pretrain(params: StudyParams) -> dict:
    """Train the pretraining network once and export its 2D backbone weights."""
    from ean.engine.config import apply_overrides, build_config, read_yaml
    from ean.engine.loop import train
    from ean.models.export import export_backbone

    p = params.pretrain
    if p is None:
        raise UserError(f"profile {params.profile!r} has no pretrain section")
    out = Path(p["out"])
    raw = read_yaml(Path(p.get("config") or params.train["config"]))
    raw["model"] = {**(raw.get("model") or {}), "preset": p["preset"]}
    sets = {**{f"data.{k}": v for k, v in data_section(params.datasets[p["dataset"]]).items()},
            **dict(p.get("set") or {})}
    apply_overrides(raw, [f"{k}={json.dumps(v)}" for k, v in sets.items()])
    cfg = build_config(raw, "pretrain")
    if out.exists():
        shutil.rmtree(out)
    summary = train(cfg, out / "run")
    best = out / "run" / "checkpoints" / "best.pt"
    if not best.is_file():  # no validation ran: the newest checkpoint
        found = sorted((out / "run" / "checkpoints").glob("*.pt"), key=lambda q: q.stat().st_mtime)
        if not found:
            raise UserError(f"pretrain: the run in {out / 'run'} wrote no checkpoint")
        best = found[-1]
    info = export_backbone(best, out / "backbone.pth")
    report = {"preset": p["preset"], "summary": summary, "backbone": info}
    path = params.reports_dir / "pretrain.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    shutil.copy(out / "run" / "metrics.csv", params.reports_dir / "pretrain_metrics.csv")
    return report


# --------------------------------------------------------------------------- train
def train_run(params: StudyParams, run: str, progress: Optional[bool] = None) -> dict:
    """Train one run from scratch (its folder is replaced) and publish its small results."""
    from ean.engine.loop import train

    variant, seed = params.variant_of_run(run)
    cfg = build_run_config(params, variant, seed)
    if progress is not None:
        cfg.runtime.progress = progress
    if cfg.model.backbone.pretrained and not Path(cfg.model.backbone.pretrained).is_file():
        raise UserError(f"run {run}: the pretrained weights {cfg.model.backbone.pretrained} do not "
                        "exist; run the pretrain stage first (dvc repro pretrain)")
    run_dir = params.runs_dir / run
    world = int(os.environ.get("WORLD_SIZE", "1"))   # under torchrun (the paper profile)
    if run_dir.exists() and world == 1:
        shutil.rmtree(run_dir)
    summary = train(cfg, run_dir)
    if int(os.environ.get("RANK", "0")) == 0:
        publish_run(params, run)
    return summary


def publish_run(params: StudyParams, run: str) -> Path:
    """Copy a run's summary, metrics, validation scores and config into the reports folder."""
    src, dst = params.runs_dir / run, params.reports_dir / "runs" / run
    dst.mkdir(parents=True, exist_ok=True)
    for name in RUN_REPORT_FILES:
        if (src / name).is_file():
            shutil.copy(src / name, dst / name)
    summary = json.loads((src / "summary.json").read_text())
    summary["run_dir"] = str(src)
    (dst / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return dst
