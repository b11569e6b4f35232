"""Pricing a profile from measured runs (ean.study.cost) and the README's training line."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from ean.study.cost import measured_rates, training_cost
from ean.study.params import load_profile
from ean.study.readme import training_block

ROOT = Path(__file__).resolve().parents[2]


def _fake_run(reports: Path, run: str, epoch_s: float, wall_s: float, epochs: int = 2, val: int = 18,
              subset: int = 0) -> None:
    d = reports / "runs" / run
    d.mkdir(parents=True)
    rows = [{"epoch": e, "train_top1": 10 * e, "val_top1": 20 * e if e == epochs else "",
             "val_videos": val if e == epochs else (subset or ""), "val_subset_top1": 15 * e if subset or e == epochs else "",
             "epoch_time_s": epoch_s} for e in range(1, epochs + 1)]
    pd.DataFrame(rows).to_csv(d / "metrics.csv", index=False)
    (d / "summary.json").write_text(json.dumps({"wall_time_s": wall_s}))


def test_rates_and_prices_come_from_the_measured_runs(tmp_path):
    smoke = load_profile("smoke", ROOT)
    smoke.train.reports_dir = str(tmp_path)
    train_clips = 54                            # the smoke set: 3 per class x 18 classes
    for seed in smoke.variants["ean"].seeds:
        _fake_run(tmp_path, f"ean-s{seed}", epoch_s=5.4, wall_s=2 * 5.4 + 1.8)
    rates = measured_rates(smoke)
    assert list(rates) == ["ean"]
    assert rates["ean"].train_s_per_clip == pytest.approx(5.4 / train_clips)
    assert rates["ean"].eval_s_per_clip == pytest.approx(1.8 / 18)
    study = load_profile("study", ROOT)
    rows = {r["variant"]: r for r in training_cost(study, smoke)}
    ean = rows["ean"]
    assert ean["priced_as"] == "ean" and ean["runs"] == len(study.variants["ean"].seeds)
    every, subset, epochs = (int(study.train.set[k]) for k in ("eval.every", "eval.subset", "optim.epochs"))
    evaluated = ean["val_clips"] + subset * len(range(every, epochs, every))
    expected = epochs * ean["train_clips"] * 0.1 + evaluated * 0.1
    assert ean["seconds_per_run"] == pytest.approx(expected, rel=1e-3)
    # a 16-frame model with no 16-frame run measured: the 8-frame price times 2
    assert rows["ean_16f"]["priced_as"] == "ean x2.00"
    assert rows["ean_16f"]["seconds_per_run"] == pytest.approx(2 * expected, rel=1e-3)


def test_training_line_reports_how_far_the_runs_got(tmp_path):
    _fake_run(tmp_path, "ean-s0", 1.0, 3.0, epochs=3, subset=6)
    line = training_block(tmp_path)
    assert "1 runs of 3 epochs" in line and "training top-1 30-30 %" in line
    assert "still rose by +15 to +15 points" in line and "far from a plateau" in line
    assert training_block(tmp_path / "none") == ""
    assert training_block(tmp_path, runs=["other-s0"]) == ""        # only the profile's runs
