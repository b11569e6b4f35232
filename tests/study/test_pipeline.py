"""The DVC pipeline of the study, run for real on the seconds-long `smoke` profile in a
copy of the repository: it plans the expected stages, runs them all, a second `dvc repro`
re-runs nothing, and changing one variant's parameter re-runs only what depends on it."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ean.study import pipeline
from ean.study.params import TABLE_IDS, load_profile

ROOT = Path(__file__).resolve().parents[2]
DVC = shutil.which("dvc")


def test_stage_graph_of_every_profile():
    for profile in ("smoke", "default", "study", "paper"):
        params = load_profile(profile, ROOT)
        stages = pipeline.stages(params)
        trains = {n: s for n, s in stages.items() if n == "train" or n.startswith("train_")}
        if params.train.stages == "variant":
            assert set(trains) == {f"train_{v}" for v in params.variants}      # one stage per variant
        else:                                                                  # one stage for all
            assert set(trains) == {"train"}
            assert trains["train"]["cmd"].endswith("study train-all --quiet")
            assert {f"variants.{v}" for v in params.variants} <= set(trains["train"]["params"])
        outs = {o for s in trains.values() for o in s["outs"] if isinstance(o, str)}
        assert outs == {f"{params.runs_dir.as_posix()}/{r}" for r in params.runs()}   # every seed's run
        names = [n for n in stages if n not in trains]
        assert names[:1] == ["complexity"]
        assert {f"data_{d}" for d in params.datasets} <= set(names)
        assert ("pretrain" in names) == (params.pretrain is not None)
        assert [n for n in names if n.startswith("table") or n == "paper_vs_code"] == \
            [pipeline.notebook_name(t) for t in TABLE_IDS]
        assert "claims" in names
        # a table depends on exactly the runs of its rows
        t10 = stages["table10"]["deps"]
        runs10 = {d.split("/")[-2] for d in t10 if d.endswith("val_scores.npz")}
        want = {r for v in params.table_variants("10") for r in params.variants[v].run_names()}
        assert runs10 == want
        if params.tables["04"].rows.get("EAN (2 clips)"):      # a row under another protocol
            assert any(d.endswith("val_scores_2clip.npz") for d in stages["table04"]["deps"])


def _repo_copy(tmp: Path) -> Path:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    dst = tmp / "repo"
    for name in files.decode().split("\0"):
        if not name or not (ROOT / name).is_file():
            continue
        (dst / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, dst / name)
    for name in ("params.yaml", "dvc.yaml"):  # the working tree's, even before they are committed
        shutil.copy2(ROOT / name, dst / name)
    for folder in ("ean", "notebooks", "configs", "data/paper", "data/literature", ".dvc"):
        shutil.copytree(ROOT / folder, dst / folder, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "tmp", "cache"))
    subprocess.run(["git", "init", "-q"], cwd=dst, check=True)
    return dst


def _run(cmd: list[str], cwd: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert res.returncode == 0, f"{' '.join(cmd)} failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res.stdout + res.stderr


def _planned(out: str) -> list[str]:
    return [line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")]


@pytest.mark.skipif(DVC is None, reason="dvc is not installed (pip install -e .[test])")
@pytest.mark.timeout(1500)
def test_smoke_pipeline_runs_and_reruns_only_what_changed(tmp_path):
    repo = _repo_copy(tmp_path)
    ean = [sys.executable, "-m", "ean.cli"]
    _run(ean + ["study", "use", "smoke"], repo)
    params = load_profile("smoke", ROOT)
    listed = _run([DVC, "stage", "list", "--name-only"], repo).split()
    assert [s for s in listed if s == "train" or s.startswith("train_")] == ["train"]   # pooled

    out = _run([DVC, "repro"], repo)
    ran = _planned(out)
    assert "pretrain" in ran and "train" in ran and "table05" in ran and "paper_vs_code" in ran
    assert "claims" in ran and "complexity" not in ran   # its committed outputs are current
    for run in params.runs():
        assert (repo / "runs/smoke/reports/runs" / run / "val_scores.npz").is_file(), run
    for tid in TABLE_IDS:
        stem = pipeline.notebook_name(tid)
        assert (repo / "runs/smoke/reports/tables" / f"{stem}.md").is_file(), stem
    for stem, (_, _, images) in pipeline.FIGURES.items():
        assert stem in ran
        for name in images:
            assert (repo / "runs/smoke/reports/figures" / name).is_file(), name
    summary = json.loads((repo / "runs/smoke/reports/runs/ean-s0/summary.json").read_text())
    assert summary["completed"] and summary["last"]["num_videos"] == 18
    assert (repo / "runs/smoke/reports/tables/claims.csv").is_file()
    assert (repo / "runs/smoke/reports/runs/d_ean_16f-s0/val_scores_2clip.npz").is_file()
    metrics = _run([DVC, "metrics", "show", "--json"], repo)
    assert "ean-s0" in metrics

    assert _planned(_run([DVC, "repro", "--dry"], repo)) == []

    # a variant's parameters are the pooled training stage's parameters
    raw = yaml.safe_load((repo / "params.yaml").read_text())
    original = dict(raw["variants"]["tsn"])
    raw["variants"]["tsn"]["label"] = "TSN, relabelled"
    (repo / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    assert _planned(_run([DVC, "repro", "--dry"], repo))[:1] == ["train"]
    raw["variants"]["tsn"] = original
    (repo / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    assert _planned(_run([DVC, "repro", "--dry"], repo)) == []

    # a changed notebook re-runs its own stage only
    nb = repo / "notebooks" / "table05.ipynb"
    nb.write_text(nb.read_text().rstrip() + "\n\n")
    assert _planned(_run([DVC, "repro"], repo)) == ["table05"]
