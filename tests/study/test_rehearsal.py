"""The `paper` profile rehearsed: official-format generated data, tiny networks, torchrun on
two CPU processes, `dvc repro` through to the tables."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ean.study import pipeline
from ean.study.params import load_profile, parse_params
from ean.study.rehearsal import REHEARSAL_PROCESSES, REHEARSAL_TABLES, rehearsal

from .test_pipeline import DVC, _planned, _repo_copy, _run

ROOT = Path(__file__).resolve().parents[2]


def test_rehearsal_keeps_the_paper_profile_but_its_data_size_and_launcher(monkeypatch):
    monkeypatch.chdir(ROOT)
    raw = yaml.safe_load((ROOT / "configs/study/profiles/paper.yaml").read_text())
    params = parse_params(rehearsal(raw))
    paper = load_profile("paper", ROOT)
    assert {d.format for d in params.datasets.values()} == {"sthv1", "sthv2", "k400", "diving48"}
    assert all(d.generated and d.config for d in params.datasets.values())
    assert params.datasets["k400"].missing and params.datasets["k400"].corrupt
    assert set(params.tables) == set(REHEARSAL_TABLES)
    for tid in REHEARSAL_TABLES:                       # the paper profile's rows, unchanged
        assert params.tables[tid].rows == paper.tables[tid].rows
    for name, v in params.variants.items():
        assert v.preset.endswith(("_tiny", "_tiny_lmc")), name
        if name in paper.variants:                      # the paper's variant: its config and dataset
            assert (v.config, v.dataset) == (paper.variants[name].config, paper.variants[name].dataset)
    assert params.train.launcher.startswith(f"torchrun --standalone --nproc_per_node {REHEARSAL_PROCESSES}")
    assert "model.backbone.pretrained" in params.train.set and params.train.set["model.backbone.pretrained"] is None
    # the run configs: the real config's recipe and protocol, the generated data's paths and classes
    from ean.study.stages import build_run_config

    cfg = build_run_config(params, params.variants["k400_ean_lmc"], 0)
    assert cfg.eval.protocol == "10x3" and cfg.data.format == "k400" and cfg.data.missing_media == "skip"
    assert cfg.data.annotation.startswith("data/rehearsal/k400") and cfg.model.num_classes < 400
    assert cfg.model.backbone.depth < 50 and cfg.runtime.device == "cpu"


@pytest.mark.skipif(DVC is None, reason="dvc is not installed (pip install -e .[test])")
@pytest.mark.skipif(shutil.which("torchrun") is None and not (Path(sys.executable).parent / "torchrun").exists(),
                    reason="torchrun is not installed")
@pytest.mark.timeout(1200)
def test_the_rehearsal_runs_through_dvc_and_torchrun_into_the_tables(tmp_path):
    repo = _repo_copy(tmp_path)
    ean = [sys.executable, "-m", "ean.cli"]
    _run(ean + ["study", "use", "paper", "--rehearse"], repo)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    assert params["profile"] == "paper_rehearsal"
    out = _run([DVC, "repro"], repo)
    ran = _planned(out)
    assert {f"data_{d}" for d in params["datasets"]} <= set(ran)
    assert {f"train_{v}" for v in params["variants"]} <= set(ran)
    assert {pipeline.notebook_name(t) for t in REHEARSAL_TABLES} <= set(ran) and "complexity" not in ran
    reports = repo / "reports" / "rehearsal"
    # Kinetics-400: the missing videos are dropped when the list is loaded, the corrupt one reported
    k400 = json.loads((reports / "data" / "k400.json").read_text())["validation"]["train"]
    assert k400["unusable"] == 1 and sum("dropped" in w["reason"] for w in k400["warning_list"]) == 2
    # every run trained on two processes and was evaluated under its dataset's protocol
    for run in ("k400_ean_lmc-s0", "diving48_ean_16f_lmc-s0", "ean-s0", "sthv2_ean-s0"):
        summary = json.loads((reports / "runs" / run / "summary.json").read_text())
        assert summary["completed"] and summary["world_size"] == REHEARSAL_PROCESSES, run
    assert (reports / "runs" / "k400_ean_lmc-s0" / "val_scores_10x3.npz").is_file()
    assert (reports / "runs" / "diving48_ean_16f_lmc-s0" / "val_scores_2clip.npz").is_file()
    # the tables carry our numbers, each under its own protocol
    t02 = pd.read_csv(reports / "tables" / "table02.csv")
    ours = t02.set_index("row").loc["EAN_8F(RGB+LMC)"]
    assert ours["variant"] == "k400_ean_lmc@10x3" and 0 <= float(ours["ours_top1_mean"]) <= 100
    t04 = pd.read_csv(reports / "tables" / "table04.csv").set_index("row")
    assert pd.notna(t04.loc["EAN (2 clips)", "ours_top1_mean"])
    assert "k400 format rehearsal" in (reports / "tables" / "table02.md").read_text()
