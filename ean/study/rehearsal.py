"""The ``paper`` profile rehearsed end to end on small generated data (``ean study use paper
--rehearse``).

Everything of the full-scale path runs except CUDA: the ``paper`` profile's variants, configs
(recipe, protocols, data settings), tables and launcher, with three changes:

* **data**: each dataset of the profile becomes a small generated set written in that
  dataset's official layout (:mod:`ean.data.synth.official`: Something V1 frame folders and
  CSVs, Kinetics-400 CSV and class folders with missing and corrupt videos, Diving48 JSON),
  read by the same parsers and the variant's own data settings; a Something V2 set (webm +
  JSON) is added so that every format is exercised;
* **size**: tiny networks (each ResNet-50 preset mapped to the ``default`` profile's tiny
  model), 36x36 crops, one short epoch, no ImageNet file;
* **launcher**: ``torchrun`` with ``REHEARSAL_PROCESSES`` CPU processes (gloo) instead of 8 GPUs.

Only the tables that use each dataset at least once are kept (``REHEARSAL_TABLES``), so the
whole rehearsal runs in minutes on 2 cores. Its numbers are those of a few steps on random
data: they prove the path, not the paper.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

REHEARSAL_TABLES = ("02", "03", "04")
"""Kinetics-400 (Table 2), Something V1 (Table 3) and Diving48 (Table 4)."""
REHEARSAL_PROCESSES = 2
SYNTH = {"sthv1": "smoke", "sthv2": "smoke", "k400": "kinetics_smoke", "diving48": "diving_smoke"}
"""The generated set written for each format (class sets: Something-style, Kinetics-like,
Diving48-like)."""
SIZE = {
    "model.input_size": 36, "model.lmc.patch": 12, "model.dropout": 0.0,
    "model.backbone.pretrained": None,
    "data.resize": 0, "data.scales": [1.0, 0.875, 0.75], "data.test_crop_size": 36, "data.num_workers": 0,
    "optim.epochs": 1, "optim.batch_size": 4, "optim.base_batch": 4, "optim.base_lr": 0.01,
    "optim.milestones": [], "eval.batch_size": 4,
    "runtime.device": "cpu", "runtime.threads": 1, "runtime.log_every": 1,
}
"""``train.set`` of the rehearsal: the tiny size and a few steps."""


def _format_of(config: str) -> str:
    from ean.config import read_yaml

    return str(read_yaml(Path(config))["data"]["format"])


def rehearsal(raw: dict[str, Any]) -> dict[str, Any]:
    """The rehearsal of a ``paper``-style profile (a raw params dict); returns a new dict."""
    out = copy.deepcopy(raw)
    tiny = yaml.safe_load((Path("configs/study/profiles/default.yaml")).read_text())["presets"]
    out["profile"] = f"{raw['profile']}_rehearsal"
    out["datasets"] = {}
    for name, d in raw["datasets"].items():
        fmt = _format_of(d["config"])
        out["datasets"][name] = {"synth": SYNTH[fmt], "root": f"data/rehearsal/{name}", "seed": 0, "format": fmt,
                                 "config": d["config"], "label": f"{fmt} format rehearsal, generated"}
        if fmt == "k400":   # the real lists name videos that are gone, and a few files are broken
            out["datasets"][name].update(missing=2, corrupt=1, set={"max_skip_fraction": 0.1})
    if "sthv2" not in out["datasets"]:
        out["datasets"]["sthv2"] = {"synth": SYNTH["sthv2"], "root": "data/rehearsal/sthv2", "seed": 0,
                                    "format": "sthv2", "config": "configs/sthv2/ean_8f_rgb.yaml",
                                    "label": "sthv2 format rehearsal, generated"}
    tables = {tid: t for tid, t in raw["tables"].items() if str(tid) in REHEARSAL_TABLES}
    used = {str(v).partition("@")[0] for t in tables.values() for spec in (t.get("rows") or {}).values()
            for v in (spec if isinstance(spec, list) else [spec]) if v}
    variants = {k: copy.deepcopy(v) for k, v in raw["variants"].items() if k in used}
    variants["sthv2_ean"] = {"preset": "ean_r50_8f_rgb", "dataset": "sthv2", "config": "configs/sthv2/ean_8f_rgb.yaml"}
    for v in variants.values():
        small = tiny[v["preset"]]
        v["set"] = {**(small.get("set") or {}), **(v.get("set") or {})}
        v["preset"] = small["preset"]
    out["variants"] = variants
    out["tables"] = copy.deepcopy(tables)
    out["train"] = {**raw["train"], "runs_dir": "runs/rehearsal/runs", "reports_dir": "reports/rehearsal",
                    "launcher": f"torchrun --standalone --nproc_per_node {REHEARSAL_PROCESSES} -m ean.engine",
                    "set": {**{k: v for k, v in (raw["train"].get("set") or {}).items()
                               if not k.startswith(("runtime.device", "model.backbone.pretrained"))}, **SIZE}}
    out["presets"] = tiny
    return out
