"""What each pipeline stage does: prepare a dataset, pretrain, train one run.

Every stage is a command (``ean study data|pretrain|train``) that reads ``params.yaml`` and
writes only its declared outputs, so DVC can cache and skip it:

* ``data NAME``   -> the generated clips under ``datasets.NAME.root`` (generated sets; with
  ``decoded: true`` also ``ROOT/decoded.npz``, every frame decoded once) and
  ``REPORTS/data/NAME.json`` (the validation report of both splits);
* ``pretrain``    -> ``pretrain.out``: the run, and ``backbone.pth``, its 2D weights;
* ``train RUN``   -> ``RUNS/RUN/`` (checkpoints, logs) and ``REPORTS/runs/RUN/``
  (``summary.json``, ``metrics.csv``, ``val_scores.npz``: small, kept in git);
* ``train-variant VARIANT`` -> the runs of every seed of the variant, ``train.jobs`` at a
  time in separate processes (the pipeline's stages with ``train.stages: variant``);
* ``train-all``   -> every run of every variant on a pool of ``train.jobs`` worker
  processes, the costliest runs first (the single stage of ``train.stages: pooled``).
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Optional

from ean.config import apply_overrides, read_yaml
from ean.errors import UserError
from ean.study.params import Dataset, StudyParams, Variant

RUN_REPORT_FILES = ("summary.json", "metrics.csv", "val_scores.npz", "config.yaml")
DECODED_FILE = "decoded.npz"


def data_section(ds: Dataset) -> dict[str, Any]:
    """The ``data`` overrides that point a TrainConfig at dataset ``ds``."""
    if ds.generated and ds.format:   # written in an official layout (the paper profile's rehearsal)
        from ean.data.synth.official import official_data_config

        base = dict(read_yaml(Path(ds.config)).get("data") or {}) if ds.config else {}
        return {**base, **official_data_config(ds.root, ds.format), **ds.set}
    if ds.generated:
        root = Path(ds.root)
        out = {"format": "sthv2", "annotation": str(root / "train.json"),
               "val_annotation": str(root / "validation.json"), "labels": str(root / "labels.json"),
               "root": str(root / "videos"), "media": "video", "video_ext": ["mp4"]}
        if ds.decoded:
            out["cache_file"] = str(root / DECODED_FILE)
        return {**out, **ds.set}
    return {**dict(read_yaml(Path(ds.config)).get("data") or {}), **ds.set}


# ------------------------------------------------------------------------------ data
def prepare_dataset(params: StudyParams, name: str, workers: Optional[int] = None, progress: bool = True) -> dict:
    """Generate (if generated) and validate dataset ``name``; write its report.

    A real dataset may hold a few unusable videos (Kinetics-400 always does): up to the data
    config's ``max_skip_fraction`` of each list they are listed in the report and training
    skips them; more stop the stage. ``workers``: processes (default: every CPU)."""
    from ean.data.config import DataConfig
    from ean.data.synth.writer import generate
    from ean.data.validate import validate

    if name not in params.datasets:
        raise UserError(f"unknown dataset {name!r}; the profile has {sorted(params.datasets)}")
    ds = params.datasets[name]
    t0 = time.perf_counter()
    workers = workers or os.cpu_count() or 1
    stats = None
    if ds.generated and ds.format:
        from ean.data.synth.official import write_official

        stats = write_official(ds.root, ds.format, profile=ds.synth, seed=ds.seed, missing=ds.missing,
                               corrupt=ds.corrupt, workers=workers, progress=progress)
    elif ds.generated:
        stats = generate(ds.root, ds.synth, seed=ds.seed, workers=workers, progress=progress)
    cfg = DataConfig.from_dict(data_section(ds))
    reports, decoded = {}, None
    if ds.generated and ds.decoded:
        # every frame of every video is decoded into the decoded-frames file: a stricter check
        # than the validation's test-clip frames, so the validation is that decode
        from ean.data.decode import DecodeError
        from ean.data.decoded import write_decoded

        plain = DataConfig.from_dict({k: v for k, v in data_section(ds).items() if k != "cache_file"})
        try:
            decoded = write_decoded(plain, Path(ds.root) / DECODED_FILE, progress=progress, workers=workers)
        except DecodeError as exc:
            raise UserError(f"dataset {name}: {exc}") from None
        for split, frames in decoded.pop("split_frames").items():
            short = [i for i, n in enumerate(frames) if n < cfg.min_frames]
            if short:
                raise UserError(f"dataset {name}: {len(short)} {split} videos have fewer than "
                                f"{cfg.min_frames} frames (first: entry {short[0]})")
            annotation = cfg.annotation if split == "train" else (cfg.val_annotation or cfg.annotation)
            reports[split] = {"annotation": annotation, "checked": len(frames), "unusable": 0, "warnings": 0,
                              "ok": True, "errors": [], "warning_list": [], "check": "every frame decoded",
                              "frames": {"min": min(frames), "max": max(frames)}}
    else:
        for split, annotation in (("train", cfg.annotation), ("validation", cfg.val_annotation or cfg.annotation)):
            rep = validate(cfg, annotation, workers=workers, progress=progress)
            if len(rep.errors) > cfg.max_skip_fraction * max(rep.checked, 1):
                raise UserError(f"dataset {name}: {rep.summary()}, more than data.max_skip_fraction="
                                f"{cfg.max_skip_fraction:g} of the list; first problem: {rep.errors[0].line()}")
            if rep.errors:
                print(f"warning: dataset {name}: {rep.summary()}; training skips the unusable ones "
                      f"(at most data.max_skip_fraction={cfg.max_skip_fraction:g}); first: {rep.errors[0].line()}",
                      file=sys.stderr)
            reports[split] = rep.to_dict()
    out = {"dataset": name, "synth": ds.synth, "seed": ds.seed if ds.generated else None,
           "clips": {k: v["checked"] for k, v in reports.items()}, "decoded": decoded,
           "validation": reports, "seconds": round(time.perf_counter() - t0, 1)}
    if stats is not None:   # the generator's measured statistics (sizes, durations, per class)
        out["stats"] = {k: stats[k] for k in ("classes", "num_classes", "splits", "per_class") if k in stats}
    path = params.reports_dir / "data" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    return out


# ------------------------------------------------------------------------- configs
def _pretrained_path(params: StudyParams) -> Optional[str]:
    if params.pretrain is None:
        return None
    return str(Path(params.pretrain.out) / "backbone.pth")


def variant_overrides(params: StudyParams, variant: Variant, seed: int) -> dict[str, Any]:
    """Every dotted override of one run, in the order they apply."""
    sets: dict[str, Any] = {}
    if variant.preset:
        sets["model.preset"] = variant.preset
    for key, value in variant.set.items():
        sets[key if key.split(".")[0] in ("model", "data", "optim", "eval", "runtime") else f"model.{key}"] = value
    ds = params.datasets[variant.dataset]
    if ds.generated and ds.format:   # the written set's paths; the variant's config has the rest
        from ean.data.synth.official import official_data_config

        sets.update({f"data.{k}": v for k, v in {**official_data_config(ds.root, ds.format), **ds.set}.items()})
    elif ds.generated:
        sets.update({f"data.{k}": v for k, v in data_section(ds).items()})
    else:
        sets.update({f"data.{k}": v for k, v in ds.set.items()})
    if ds.generated and ds.format:   # the variant's config is for the real dataset's classes
        from ean.data.synth.profiles import get_profile
        from ean.data.synth.class_sets import class_names

        sets["model.num_classes"] = len(class_names(get_profile(ds.synth).classes))
    pretrained = _pretrained_path(params)
    if pretrained is not None:
        sets["model.backbone.pretrained"] = pretrained
    sets.update({"runtime.seed": seed, "data.seed": seed})
    return sets


def build_run_config(params: StudyParams, variant: Variant, seed: int):
    """The TrainConfig of one run: the variant's (or the profile's) YAML + train.set + the
    variant's model changes + data paths + pretrained weights + seed."""
    from ean.engine.config import build_config

    config = variant.config or params.train.config
    raw = read_yaml(Path(config))
    overrides = {**{k: v for k, v in params.train.set.items()}, **variant_overrides(params, variant, seed)}
    if "model.preset" in overrides:
        # the variant's preset replaces the YAML's; the YAML's other model keys still apply
        raw["model"] = {**(raw.get("model") or {}), "preset": overrides.pop("model.preset")}
    apply_overrides(raw, [f"{k}={json.dumps(v)}" for k, v in overrides.items()])
    return build_config(raw, f"{config} (variant {variant.name}, seed {seed})")


# ------------------------------------------------------------------------ pretrain
def pretrain(params: StudyParams) -> dict:
    """Train the pretraining network once and export its 2D backbone weights."""
    from ean.engine.config import build_config
    from ean.engine.loop import train
    from ean.models.export import export_backbone

    p = params.pretrain
    if p is None:
        raise UserError(f"profile {params.profile!r} has no pretrain section")
    out = Path(p.out)
    raw = read_yaml(Path(p.config or params.train.config))
    raw["model"] = {**(raw.get("model") or {}), "preset": p.preset}
    sets = {**{f"data.{k}": v for k, v in data_section(params.datasets[p.dataset]).items()},
            **dict(p.set)}
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
    report = {"preset": p.preset, "summary": summary, "backbone": info}
    path = params.reports_dir / "pretrain.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    shutil.copy(out / "run" / "metrics.csv", params.reports_dir / "pretrain_metrics.csv")
    return report


# --------------------------------------------------------------------------- train
def train_run(params: StudyParams, run: str, progress: Optional[bool] = None,
              threads: Optional[int] = None) -> dict:
    """Train one run from scratch (its folder is replaced) and publish its small results.
    ``threads``: torch's CPU threads for this run (recorded in its config)."""
    from ean.engine.loop import train

    variant, seed = params.variant_of_run(run)
    cfg = build_run_config(params, variant, seed)
    if progress is not None:
        cfg.runtime.progress = progress
    if threads is not None:
        cfg.runtime.threads = int(threads)
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
    for extra in sorted(src.glob("val_scores_*.npz")):   # other protocols (eval.extra_protocols)
        shutil.copy(extra, dst / extra.name)
    summary = json.loads((src / "summary.json").read_text())
    summary["run_dir"] = str(src)
    (dst / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return dst


def run_protocols(params: StudyParams, variant: Variant) -> list[str]:
    """The protocols a variant's runs are evaluated under after training, besides 1 clip
    (as the run's resolved config says: base config, profile and variant settings)."""
    return build_run_config(params, variant, variant.seeds[0]).eval.final_protocols()


def thread_plan(runs: list[str], jobs: int, threads: int) -> list[list[tuple[str, int]]]:
    """Rounds of runs trained side by side: ``jobs`` at a time, the ``threads`` CPU threads
    shared among the runs of a round (so a last, lone run gets them all). Deterministic, so
    that a re-run gives each run the thread count (and thus the floating-point results) it
    had before."""
    jobs = max(1, min(jobs, len(runs) or 1))
    rounds = [runs[i:i + jobs] for i in range(0, len(runs), jobs)]
    return [[(run, max(1, threads // len(chunk))) for run in chunk] for chunk in rounds]


def node_threads(params: StudyParams) -> int:
    """CPU threads for the runs of this process: ``train.threads`` (default: every core) is the
    node's budget, shared by the processes a launcher started on it (torchrun's
    ``LOCAL_WORLD_SIZE``); two CPU ranks with every core each spin against each other in
    their collectives (measured: 161 s against 6.9 s for a tiny 2-process run on 2 cores)."""
    threads = int(params.train.threads or os.cpu_count() or 1)
    return max(1, threads // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1"))))


def _train_in_process(args: tuple) -> dict:
    params_path, run, threads = args
    from ean.study.params import load_params

    return train_run(load_params(params_path), run, progress=False, threads=threads)


def train_variant(params: StudyParams, variant: str, jobs: Optional[int] = None,
                  progress: bool = True) -> list[dict]:
    """Train every seed of ``variant`` (``train.jobs`` runs side by side in separate
    processes, ``train.threads`` CPU threads between them); returns their summaries."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from tqdm import tqdm

    if variant not in params.variants:
        raise UserError(f"unknown variant {variant!r}; the profile {params.profile!r} has "
                        f"{', '.join(params.variants)}")
    runs = params.variants[variant].run_names()
    jobs = int(jobs if jobs is not None else params.train.jobs)
    plan = thread_plan(runs, jobs, node_threads(params))
    summaries = []
    bar = tqdm(total=len(runs), desc=f"train {variant}", unit="run", disable=not progress)
    for chunk in plan:
        if len(chunk) == 1:
            run, n = chunk[0]
            summaries.append(train_run(params, run, progress=False, threads=n))
        else:
            with ProcessPoolExecutor(max_workers=len(chunk), mp_context=mp.get_context("spawn")) as pool:
                summaries += list(pool.map(_train_in_process, [(str(params.path), run, n) for run, n in chunk]))
        bar.update(len(chunk))
    bar.close()
    return summaries


def run_cost(params: StudyParams, run: str) -> float:
    """A relative training cost of ``run`` (frames per clip x the modules that cost per
    frame), to start the costliest runs first so that the pool's workers finish together."""
    variant, seed = params.variant_of_run(run)
    m = build_run_config(params, variant, seed).model
    cost = m.num_segments * (1.0 + 0.3 * len(m.eab.stages) + 0.25 * bool(m.lmc.enabled)
                             + 0.15 * len(m.soi.stages))
    return float(cost)


def train_all(params: StudyParams, jobs: Optional[int] = None, progress: bool = True) -> list[dict]:
    """Train every run of every variant on ``jobs`` worker processes (``train.jobs``), each
    with ``train.threads // jobs`` CPU threads (the same for every run, whatever the
    schedule, so that the results do not depend on it); the costliest runs start first.
    A run's results are published as soon as it ends. Returns the summaries in run order."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from tqdm import tqdm

    runs = list(params.runs())
    if not runs:
        raise UserError(f"profile {params.profile!r} has no runs to train")
    jobs = max(1, min(int(jobs if jobs is not None else params.train.jobs), len(runs)))
    threads = max(1, node_threads(params) // jobs)
    order = sorted(runs, key=lambda r: -run_cost(params, r))
    done: dict[str, dict] = {}
    bar = tqdm(total=len(runs), desc="train", unit="run", disable=not progress)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as pool:
        futures = {pool.submit(_train_in_process, (str(params.path), run, threads)): run for run in order}
        for future in as_completed(futures):
            done[futures[future]] = future.result()
            bar.update(1)
    bar.close()
    return [done[r] for r in runs]
